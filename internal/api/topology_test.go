package api

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"
)

const topology810 = `{
  "brokers": [
    {"nodeId": 0, "brokerId": "zone-a_0", "host": "camunda-0", "port": 26501, "version": "8.10.0",
     "partitions": [
       {"partitionId": 1, "role": "leader", "health": "healthy", "state": "active", "newField": 1},
       {"partitionId": 2, "role": "follower", "health": "healthy", "state": "active"},
       {"partitionId": 3, "role": "candidate", "health": "recovering", "state": "joining"}
     ],
     "zone": "a", "futureObject": {"x": [1, 2]}}
  ],
  "clusterSize": 3,
  "partitionsCount": 3,
  "replicationFactor": 3,
  "gatewayVersion": "8.10.0",
  "lastCompletedChangeId": "42",
  "clusterId": "c-1",
  "somethingNew": true
}`

func TestTopologyDecoding(t *testing.T) {
	var top Topology
	if err := json.Unmarshal([]byte(topology810), &top); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if top.ClusterSize != 3 || top.PartitionsCount != 3 || top.ReplicationFactor != 3 || top.GatewayVersion != "8.10.0" ||
		top.LastCompletedChangeID != "42" || top.ClusterID != "c-1" || len(top.Brokers) != 1 {
		t.Errorf("topology = %+v", top)
	}
	b := top.Brokers[0]
	if b.NodeID != 0 || b.BrokerID != "zone-a_0" || b.Host != "camunda-0" || b.Port != 26501 || b.Version != "8.10.0" || len(b.Partitions) != 3 {
		t.Errorf("broker = %+v", b)
	}
	if p := b.Partitions[2]; p.Role != "candidate" || p.Health != "recovering" || p.State != "joining" {
		t.Errorf("unknown enum values not kept: %+v", p)
	}
}

func TestLastCompletedChangeID(t *testing.T) {
	tests := []struct {
		json string
		want string
	}{
		{`{"lastCompletedChangeId": "17"}`, "17"},
		{`{"lastCompletedChangeId": 17}`, "17"},
		{`{"lastCompletedChangeId": -1}`, "-1"},
		{`{"lastCompletedChangeId": 12345678901234567890}`, "12345678901234567890"},
		{`{"lastCompletedChangeId": ""}`, ""},
		{`{"lastCompletedChangeId": null}`, ""},
		{`{}`, ""},
		{`{"lastCompletedChangeId": "a\"b"}`, `a"b`},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			var top Topology
			if err := json.Unmarshal([]byte(tt.json), &top); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if string(top.LastCompletedChangeID) != tt.want {
				t.Errorf("lastCompletedChangeId = %q, want %q", top.LastCompletedChangeID, tt.want)
			}
		})
	}
}

func TestTopologyHealth(t *testing.T) {
	p := func(id int, role, health string) Partition {
		return Partition{PartitionID: id, Role: role, Health: health}
	}
	tests := []struct {
		name           string
		top            Topology
		wantPartitions []int
		wantUnled      []int
		wantHealthy    bool
	}{
		{name: "healthy",
			top: Topology{PartitionsCount: 3, Brokers: []Broker{
				{NodeID: 0, Partitions: []Partition{p(1, "leader", "healthy"), p(2, "follower", "healthy"), p(3, "follower", "healthy")}},
				{NodeID: 1, Partitions: []Partition{p(1, "follower", "healthy"), p(2, "leader", "healthy"), p(3, "follower", "healthy")}},
				{NodeID: 2, Partitions: []Partition{p(1, "follower", "healthy"), p(2, "follower", "healthy"), p(3, "leader", "healthy")}},
			}},
			wantPartitions: []int{1, 2, 3}, wantHealthy: true},
		{name: "leader unhealthy",
			top: Topology{PartitionsCount: 2, Brokers: []Broker{
				{NodeID: 0, Partitions: []Partition{p(1, "leader", "healthy"), p(2, "leader", "unhealthy")}},
				{NodeID: 1, Partitions: []Partition{p(1, "follower", "healthy"), p(2, "follower", "healthy")}},
			}},
			wantPartitions: []int{1, 2}, wantUnled: []int{2}},
		{name: "dead leader",
			top: Topology{PartitionsCount: 1, Brokers: []Broker{
				{Partitions: []Partition{p(1, "leader", "dead")}},
			}},
			wantPartitions: []int{1}, wantUnled: []int{1}},
		{name: "followers only",
			top: Topology{PartitionsCount: 1, Brokers: []Broker{
				{Partitions: []Partition{p(1, "follower", "healthy"), p(1, "inactive", "healthy")}},
			}},
			wantPartitions: []int{1}, wantUnled: []int{1}},
		{name: "missing partition",
			top: Topology{PartitionsCount: 3, Brokers: []Broker{
				{Partitions: []Partition{p(1, "leader", "healthy"), p(2, "leader", "healthy")}},
			}},
			wantPartitions: []int{1, 2, 3}, wantUnled: []int{3}},
		{name: "no brokers, partitions expected",
			top:            Topology{PartitionsCount: 2},
			wantPartitions: []int{1, 2}, wantUnled: []int{1, 2}},
		{name: "no brokers, no partitions",
			top: Topology{}},
		{name: "brokers without partitions",
			top: Topology{Brokers: []Broker{{NodeID: 0}, {NodeID: 1}}}},
		{name: "partition beyond partitionsCount",
			top: Topology{PartitionsCount: 1, Brokers: []Broker{
				{Partitions: []Partition{p(1, "leader", "healthy"), p(4, "follower", "healthy")}},
			}},
			wantPartitions: []int{1, 4}, wantUnled: []int{4}},
		{name: "one healthy leader among unhealthy reports",
			top: Topology{PartitionsCount: 1, Brokers: []Broker{
				{Partitions: []Partition{p(1, "leader", "unhealthy")}},
				{Partitions: []Partition{p(1, "leader", "healthy")}},
			}},
			wantPartitions: []int{1}, wantHealthy: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.top.Health()
			if !slices.Equal(h.Partitions, tt.wantPartitions) {
				t.Errorf("Partitions = %v, want %v", h.Partitions, tt.wantPartitions)
			}
			if got := h.Unled(); !slices.Equal(got, tt.wantUnled) {
				t.Errorf("Unled() = %v, want %v", got, tt.wantUnled)
			}
			if h.Healthy() != tt.wantHealthy {
				t.Errorf("Healthy() = %v, want %v", h.Healthy(), tt.wantHealthy)
			}
		})
	}
}

func TestBrokerID(t *testing.T) {
	tests := []struct {
		b    Broker
		want string
	}{
		{Broker{NodeID: 2, BrokerID: "zone-b_2"}, "zone-b_2"},
		{Broker{NodeID: 2}, "2"},
		{Broker{NodeID: 0}, "0"},
		{Broker{NodeID: 0, BrokerID: "zone-a_0"}, "zone-a_0"},
	}
	for _, tt := range tests {
		if got := tt.b.ID(); got != tt.want {
			t.Errorf("%+v.ID() = %q, want %q", tt.b, got, tt.want)
		}
	}
}

func TestClientTopology(t *testing.T) {
	t.Run("json", func(t *testing.T) {
		s := newServer(t, false, reply(200, "application/json", topology810))
		c := newTestClient(t, s.URL, nil)
		top, raw, err := c.Topology(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if string(raw) != topology810 {
			t.Errorf("raw body changed")
		}
		if top.Brokers[0].ID() != "zone-a_0" || s.request(0).URL.Path != "/v2/topology" {
			t.Errorf("topology = %+v", top)
		}
	})
	t.Run("html login page", func(t *testing.T) {
		s := newServer(t, false, reply(200, "text/html; charset=utf-8", "<html><head><title>Camunda Login</title></head><body>Sign in</body></html>"))
		c := newTestClient(t, s.URL, nil)
		_, _, err := c.Topology(context.Background())
		var ue *UnexpectedBodyError
		if !errors.As(err, &ue) {
			t.Fatalf("err = %T %v, want *UnexpectedBodyError", err, err)
		}
		if ue.ContentType != "text/html" || ue.Excerpt != "Camunda Login Sign in" || ue.URL != s.URL+"/v2/topology" || ue.Unwrap() == nil {
			t.Errorf("UnexpectedBodyError = %+v", ue)
		}
	})
	t.Run("http error", func(t *testing.T) {
		s := newServer(t, false, status(404))
		c := newTestClient(t, s.URL, nil)
		_, _, err := c.Topology(context.Background())
		var he *HTTPError
		if !errors.As(err, &he) || he.StatusCode != 404 {
			t.Fatalf("err = %T %v", err, err)
		}
	})
}

// TestTopologyHealthBounded: found by FuzzTopology. A broken answer with
// a huge partitionsCount made Health allocate billions of map entries.
func TestTopologyHealthBounded(t *testing.T) {
	var top Topology
	if err := json.Unmarshal([]byte(`{"partitionsCount":2000000000,"brokers":[{"partitions":[{"partitionId":1,"role":"leader","health":"healthy"}]}]}`), &top); err != nil {
		t.Fatal(err)
	}
	h := top.Health()
	if len(h.Partitions) != maxPartitions || h.Healthy() {
		t.Errorf("Health() has %d partitions, healthy %v; want %d, false", len(h.Partitions), h.Healthy(), maxPartitions)
	}
}

// The three states of spec §2, with what DEGRADED names.
func TestTopologyHealthState(t *testing.T) {
	p := func(id int, role, health string) Partition {
		return Partition{PartitionID: id, Role: role, Health: health}
	}
	all := func(health3 string) []Broker {
		return []Broker{
			{NodeID: 0, Partitions: []Partition{p(1, "leader", "healthy"), p(2, "follower", "healthy")}},
			{NodeID: 1, Partitions: []Partition{p(1, "follower", "healthy"), p(2, "leader", "healthy")}},
			{NodeID: 2, Partitions: []Partition{p(1, "follower", health3), p(2, "follower", "healthy")}},
		}
	}
	tests := []struct {
		name          string
		top           Topology
		want          string
		wantUnhealthy []Replica
		wantMissing   map[int]int
		wantReplicas  int
	}{
		{"every replica healthy", Topology{PartitionsCount: 2, ReplicationFactor: 3, Brokers: all("healthy")},
			HealthOK, nil, map[int]int{}, 6},
		{"one follower unhealthy", Topology{PartitionsCount: 2, ReplicationFactor: 3, Brokers: all("unhealthy")},
			HealthDegraded, []Replica{{"2", 1, "follower", "unhealthy"}}, map[int]int{}, 6},
		{"unknown new health value", Topology{PartitionsCount: 2, ReplicationFactor: 3, Brokers: all("recovering")},
			HealthDegraded, []Replica{{"2", 1, "follower", "recovering"}}, map[int]int{}, 6},
		{"health missing", Topology{PartitionsCount: 2, ReplicationFactor: 3, Brokers: all("")},
			HealthDegraded, []Replica{{"2", 1, "follower", ""}}, map[int]int{}, 6},
		{"a broker down: its replicas missing", Topology{PartitionsCount: 2, ReplicationFactor: 3, Brokers: all("healthy")[:2]},
			HealthDegraded, nil, map[int]int{1: 1, 2: 1}, 6},
		{"a partition without a leader", Topology{PartitionsCount: 2, ReplicationFactor: 2, Brokers: []Broker{
			{NodeID: 0, Partitions: []Partition{p(1, "leader", "healthy"), p(2, "follower", "healthy")}},
			{NodeID: 1, Partitions: []Partition{p(1, "follower", "healthy"), p(2, "follower", "healthy")}},
		}}, HealthUnavailable, nil, map[int]int{}, 4},
		{"unknown new role is not a leader", Topology{PartitionsCount: 1, ReplicationFactor: 1, Brokers: []Broker{
			{NodeID: 0, Partitions: []Partition{p(1, "primary", "healthy")}},
		}}, HealthUnavailable, nil, map[int]int{}, 1},
		{"the leader unhealthy", Topology{PartitionsCount: 1, ReplicationFactor: 1, Brokers: []Broker{
			{NodeID: 0, Partitions: []Partition{p(1, "leader", "unhealthy")}},
		}}, HealthUnavailable, []Replica{{"0", 1, "leader", "unhealthy"}}, map[int]int{}, 1},
		{"nothing reported", Topology{}, HealthUnavailable, nil, map[int]int{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.top.Health()
			if got := h.State(); got != tt.want {
				t.Errorf("State() = %s, want %s", got, tt.want)
			}
			if !slices.Equal(h.Unhealthy, tt.wantUnhealthy) {
				t.Errorf("Unhealthy = %+v, want %+v", h.Unhealthy, tt.wantUnhealthy)
			}
			if !maps.Equal(h.Missing, tt.wantMissing) {
				t.Errorf("Missing = %v, want %v", h.Missing, tt.wantMissing)
			}
			if h.Replicas != tt.wantReplicas {
				t.Errorf("Replicas = %d, want %d", h.Replicas, tt.wantReplicas)
			}
		})
	}
}
