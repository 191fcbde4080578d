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

// Health answers "is every partition led by a healthy leader?".
type Health struct {
	// Partitions is every partition id known, sorted.
	Partitions []int
	// Led are partitions with a healthy leader.
	Led map[int]bool
}

// Healthy reports whether every partition has a healthy leader (and there
// is at least one partition).
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
	h := Health{Led: map[int]bool{}}
	seen := map[int]bool{}
	for i := 1; i <= min(t.PartitionsCount, maxPartitions); i++ {
		seen[i] = true
	}
	for _, b := range t.Brokers {
		for _, p := range b.Partitions {
			seen[p.PartitionID] = true
			if p.Role == "leader" && p.Health == "healthy" {
				h.Led[p.PartitionID] = true
			}
		}
	}
	for p := range seen {
		h.Partitions = append(h.Partitions, p)
	}
	sort.Ints(h.Partitions)
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
