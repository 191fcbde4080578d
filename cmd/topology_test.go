package cmd

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/api"
)

var update = flag.Bool("update", false, "rewrite golden files and testscript expectations with the actual output")

// golden compares got with testdata/golden/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("..", "testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run `go test ./cmd -run %s -update` to create it): %v", t.Name(), err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (rerun with -update if the change is intended)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

func TestRenderTopologyGolden(t *testing.T) {
	for _, fixture := range []string{"healthy", "follower_unhealthy", "degraded", "c8run", "future", "empty"} {
		raw, err := os.ReadFile(filepath.Join("..", "testdata", "topology", fixture+".json"))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fixture, func(t *testing.T) {
			srv := newFakeServer(t)
			srv.fake.SetTopology(raw)
			for _, format := range []string{"text", "json", "yaml"} {
				t.Run(format, func(t *testing.T) {
					f, _, out, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": srv.URL})
					if code := Run(t.Context(), f, []string{"topology", "-o", format}); code != 0 {
						t.Fatalf("exit %d, stderr: %s", code, errOut)
					}
					got := strings.ReplaceAll(out.String(), srv.URL, "http://127.0.0.1:PORT")
					golden(t, "topology/"+fixture+"."+format, []byte(got))
				})
			}
		})
	}
}

func TestRenderTopologyColour(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "topology", "degraded.json"))
	if err != nil {
		t.Fatal(err)
	}
	var topo api.Topology
	if err := json.Unmarshal(raw, &topo); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := renderTopology(&buf, ColorScheme{enabled: true}, "http://127.0.0.1:PORT/v2", "prod", &topo); err != nil {
		t.Fatal(err)
	}
	golden(t, "topology/degraded.color", buf.Bytes())
	if !strings.Contains(buf.String(), "\x1b[31m") {
		t.Error("unhealthy cluster not shown in red on a terminal")
	}
}

// The JSON output must be the server's body: every field, including the
// ones camctl does not know, and number literals unchanged.
func TestTopologyJSONIsLossless(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "topology", "future.json"))
	if err != nil {
		t.Fatal(err)
	}
	srv := newFakeServer(t)
	srv.fake.SetTopology(raw)
	f, _, out, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": srv.URL})
	if code := Run(t.Context(), f, []string{"topology", "-o", "json"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, out.Bytes()); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
	}
	if compact.String() != strings.TrimSpace(string(raw)) {
		t.Errorf("JSON output is not the server's body\n got: %s\nwant: %s", compact.String(), raw)
	}
	for _, field := range []string{`"brokerId"`, `"clusterId"`, `"state"`, `"physicalTenants"`, `"zone"`, `"lastCompletedChangeId": 17`} {
		if !strings.Contains(out.String(), field) {
			t.Errorf("field %s lost in -o json", field)
		}
	}
}

// --check exits 6 unless every replica is healthy, after printing the
// view or the body; without it the exit code stays 0.
func TestTopologyCheck(t *testing.T) {
	tests := []struct {
		fixture, state string
		want           int
	}{
		{"healthy", "OK", ExitOK},
		{"c8run", "OK", ExitOK},
		{"follower_unhealthy", "DEGRADED", ExitWaitTimeout},
		{"future", "DEGRADED", ExitWaitTimeout},
		{"degraded", "UNAVAILABLE", ExitWaitTimeout},
		{"empty", "UNAVAILABLE", ExitWaitTimeout},
	}
	for _, tt := range tests {
		raw, err := os.ReadFile(filepath.Join("..", "testdata", "topology", tt.fixture+".json"))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(tt.fixture, func(t *testing.T) {
			srv := newFakeServer(t)
			srv.fake.SetTopology(raw)
			for _, args := range [][]string{{"topology", "--check"}, {"topology", "--check", "-o", "json"}, {"topology"}} {
				f, _, out, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": srv.URL})
				want := tt.want
				if len(args) == 1 {
					want = ExitOK
				}
				if code := Run(t.Context(), f, args); code != want {
					t.Fatalf("%v: exit %d, want %d; stderr: %s", args, code, want, errOut)
				}
				var got, body bytes.Buffer
				_ = json.Compact(&got, out.Bytes())
				_ = json.Compact(&body, raw)
				if slices.Contains(args, "json") && !bytes.Equal(got.Bytes(), body.Bytes()) {
					t.Errorf("%v: stdout is not the body:\n%s", args, out)
				}
				if !slices.Contains(args, "json") && !strings.Contains(out.String(), "Health:             "+tt.state) {
					t.Errorf("%v: no %s health line in\n%s", args, tt.state, out)
				}
				if want != ExitOK && !strings.Contains(errOut.String(), "the cluster is "+tt.state) {
					t.Errorf("%v: stderr %q does not name the state %s", args, errOut, tt.state)
				}
			}
		})
	}
}
