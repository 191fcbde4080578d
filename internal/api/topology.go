package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
)

// Topology is GET /v2/topology as camctl understands it. Decoding is
// lenient: unknown fields are ignored here (the raw body keeps them for
// -o json) and enum values are plain strings, so a newer server's
// additions never break camctl.
type Topology struct {
	Brokers               []Broker   `json:"brokers"`
	ClusterSize           int        `json:"clusterSize"`
	PartitionsCount       int        `json:"partitionsCount"`
	ReplicationFactor     int        `json:"replicationFactor"`
	GatewayVersion        string     `json:"gatewayVersion"`
	LastCompletedChangeID flexString `json:"lastCompletedChangeId"`
	// ClusterID appeared in 8.9.
	ClusterID string `json:"clusterId"`
	// Omitted is what decoding left out of Brokers (see maxBrokers).
	Omitted Omitted `json:"-"`
}

// The most brokers and partition entries a decoded topology keeps. A
// body of 4 MiB can list over a million empty brokers, some 120 MB as Go
// values and far more once rendered, while spec §8 bounds camctl to
// 256 MiB. Real clusters have tens of brokers and at most maxPartitions
// partitions, each on a few brokers; what lies beyond the bounds is
// counted in Omitted, not kept.
const (
	maxBrokers          = 1024
	maxPartitionEntries = 64 << 10
)

// UnmarshalJSON decodes the body while keeping at most maxBrokers
// brokers and maxPartitionEntries partition entries; the brokers and
// entries past those bounds are counted in Omitted. Everything else
// decodes as encoding/json would.
func (t *Topology) UnmarshalJSON(b []byte) error {
	type plain Topology
	var v struct {
		plain
		Brokers boundedBrokers `json:"brokers"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*t = Topology(v.plain)
	t.Brokers, t.Omitted = v.Brokers.kept, v.Brokers.omitted
	return nil
}

// Omitted counts what a decoded topology did not keep (see maxBrokers).
type Omitted struct {
	Brokers    int
	Partitions int
}

// boundedBrokers decodes a list of brokers one at a time, so that no
// list longer than the bounds is ever held.
type boundedBrokers struct {
	kept    []Broker
	omitted Omitted
}

func (l *boundedBrokers) UnmarshalJSON(b []byte) error {
	entries := 0
	return eachElement(b, func(dec *json.Decoder) error {
		if len(l.kept) >= maxBrokers || entries >= maxPartitionEntries {
			var skip struct {
				Partitions eachCounted `json:"partitions"`
			}
			if err := dec.Decode(&skip); err != nil {
				return err
			}
			l.omitted.Brokers++
			l.omitted.Partitions += int(skip.Partitions)
			return nil
		}
		type plain Broker
		var v struct {
			plain
			Partitions boundedPartitions `json:"partitions"`
		}
		v.Partitions.max = maxPartitionEntries - entries
		if err := dec.Decode(&v); err != nil {
			return err
		}
		br := Broker(v.plain)
		br.Partitions = v.Partitions.kept
		entries += len(br.Partitions)
		l.omitted.Partitions += v.Partitions.omitted
		l.kept = append(l.kept, br)
		return nil
	})
}

// boundedPartitions keeps at most max partition entries.
type boundedPartitions struct {
	max     int
	kept    []Partition
	omitted int
}

func (l *boundedPartitions) UnmarshalJSON(b []byte) error {
	l.kept, l.omitted = nil, 0
	return eachElement(b, func(dec *json.Decoder) error {
		if len(l.kept) >= l.max {
			l.omitted++
			return dec.Decode(new(struct{}))
		}
		var p Partition
		if err := dec.Decode(&p); err != nil {
			return err
		}
		l.kept = append(l.kept, p)
		return nil
	})
}

// eachCounted counts the elements of a list without keeping them.
type eachCounted int

func (n *eachCounted) UnmarshalJSON(b []byte) error {
	return eachElement(b, func(dec *json.Decoder) error {
		*n++
		return dec.Decode(new(struct{}))
	})
}

// eachElement calls fn with a decoder positioned at each element of the
// JSON list b in turn; null is an empty list.
func eachElement(b []byte, fn func(*json.Decoder) error) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("expected a list, found %v", tok)
	}
	for dec.More() {
		if err := fn(dec); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

// Broker is one broker of the cluster.
type Broker struct {
	NodeID int `json:"nodeId"`
	// BrokerID ("<zone>_<nodeId>") appeared in 8.10 for zone-aware clusters.
	BrokerID   string      `json:"brokerId"`
	Host       string      `json:"host"`
	Port       int         `json:"port"`
	Partitions []Partition `json:"partitions"`
	Version    string      `json:"version"`
}

// Partition is a broker's view of one partition.
type Partition struct {
	PartitionID int    `json:"partitionId"`
	Role        string `json:"role"`   // leader, follower, inactive, ...
	Health      string `json:"health"` // healthy, unhealthy, dead, ...
	// State appeared in 8.10: unknown, joining, active, leaving, recovering.
	State string `json:"state"`
}

// flexString accepts a JSON string or number: lastCompletedChangeId is a
// string in the spec, but a number costs nothing to accept.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	*f = flexString(b)
	return nil
}

// ID is how a broker is named to the user: brokerId where the server
// sends one, else nodeId.
func (b Broker) ID() string {
	if b.BrokerID != "" {
		return b.BrokerID
	}
	return strconv.Itoa(b.NodeID)
}

// Health is the cluster's health as spec §2 defines it (see State).
type Health struct {
	// Partitions is every partition id known, sorted.
	Partitions []int
	// Led are partitions with a healthy leader.
	Led map[int]bool
	// Replicas counts the replicas expected: partitions times the
	// replication factor, or those reported if that is more (or the
	// factor is unknown).
	Replicas int
	// Unhealthy are the replicas reported with a health other than
	// "healthy", by broker and partition.
	Unhealthy []Replica
	// Missing counts, by partition, the replicas the replication factor
	// promises but no broker reports (a broker that is down).
	Missing map[int]int
}

// Replica is one broker's copy of a partition.
type Replica struct {
	Broker    string // Broker.ID()
	Partition int
	Role      string
	Health    string
}

// Health states (spec §2).
const (
	// HealthOK: every replica is healthy.
	HealthOK = "OK"
	// HealthDegraded: every partition has a healthy leader, but some
	// replica is not healthy (or missing).
	HealthDegraded = "DEGRADED"
	// HealthUnavailable: a partition has no healthy leader (or no
	// partition is reported at all).
	HealthUnavailable = "UNAVAILABLE"
)

// State is HealthOK, HealthDegraded or HealthUnavailable. A health value
// camctl does not know (a newer server's) counts as not healthy, and a
// role it does not know as not leader: OK must never be a guess.
func (h Health) State() string {
	switch {
	case !h.Healthy():
		return HealthUnavailable
	case len(h.Unhealthy) > 0 || h.MissingCount() > 0:
		return HealthDegraded
	}
	return HealthOK
}

// MissingCount is the number of replicas no broker reports.
func (h Health) MissingCount() int {
	n := 0
	for _, m := range h.Missing {
		n += m
	}
	return n
}

// Healthy reports whether every partition has a healthy leader (and there
// is at least one partition): what `topology --wait` waits for.
func (h Health) Healthy() bool {
	if len(h.Partitions) == 0 {
		return false
	}
	for _, p := range h.Partitions {
		if !h.Led[p] {
			return false
		}
	}
	return true
}

// Unled returns the partitions without a healthy leader.
func (h Health) Unled() []int {
	var out []int
	for _, p := range h.Partitions {
		if !h.Led[p] {
			out = append(out, p)
		}
	}
	return out
}

// maxPartitions bounds the partitions a topology can expect: Zeebe
// encodes the partition id in 13 bits of every key. A larger
// partitionsCount is a broken answer, and must not make camctl allocate
// a map of billions of entries.
const maxPartitions = 8192

// Health evaluates the topology. Partitions 1..partitionsCount are
// expected even when no broker reports them (a broker that is down takes
// its partitions with it).
func (t *Topology) Health() Health {
	h := Health{Led: map[int]bool{}, Missing: map[int]int{}}
	seen := map[int]bool{}
	for i := 1; i <= min(t.PartitionsCount, maxPartitions); i++ {
		seen[i] = true
	}
	replicas := map[int]int{}
	reported := 0
	for _, b := range t.Brokers {
		for _, p := range b.Partitions {
			seen[p.PartitionID] = true
			replicas[p.PartitionID]++
			reported++
			if p.Health != "healthy" {
				h.Unhealthy = append(h.Unhealthy, Replica{Broker: b.ID(), Partition: p.PartitionID, Role: p.Role, Health: p.Health})
			} else if p.Role == "leader" {
				h.Led[p.PartitionID] = true
			}
		}
	}
	for p := range seen {
		h.Partitions = append(h.Partitions, p)
		if n := t.ReplicationFactor - replicas[p]; t.ReplicationFactor <= maxPartitions && n > 0 {
			h.Missing[p] = n
		}
	}
	sort.Ints(h.Partitions)
	sort.SliceStable(h.Unhealthy, func(i, j int) bool {
		a, b := h.Unhealthy[i], h.Unhealthy[j]
		if a.Partition != b.Partition {
			return a.Partition < b.Partition
		}
		return a.Broker < b.Broker
	})
	h.Replicas = reported + h.MissingCount()
	return h
}

// Topology fetches GET /v2/topology and returns it decoded together with
// the raw body, which -o json prints unchanged.
func (c *Client) Topology(ctx context.Context) (*Topology, []byte, error) {
	resp, err := c.Get(ctx, "topology")
	if err != nil {
		return nil, nil, err
	}
	var t Topology
	if err := json.Unmarshal(resp.Body, &t); err != nil {
		return nil, nil, &UnexpectedBodyError{URL: c.base.JoinPath("topology").String(), ContentType: mediaType(resp.Header.Get("Content-Type")), Excerpt: RedactedExcerpt(resp.Body, 160, c.opts.Redact), Err: err}
	}
	return &t, resp.Body, nil
}

// UnexpectedBodyError is a 2xx answer that is not the API's JSON — typically
// a login or landing page served by a proxy in front of the cluster.
type UnexpectedBodyError struct {
	URL         string
	ContentType string
	Excerpt     string
	Err         error
}

func (e *UnexpectedBodyError) Error() string {
	return fmt.Sprintf("GET %s: the answer is not the REST API's JSON (%s: %q): is the address the Orchestration Cluster REST API, not a web UI or proxy page?", e.URL, e.ContentType, e.Excerpt)
}

func (e *UnexpectedBodyError) Unwrap() error { return e.Err }
