package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/camctl/camctl/internal/api"
	"github.com/camctl/camctl/internal/auth"
	"github.com/camctl/camctl/internal/session"
	"github.com/camctl/camctl/internal/termsafe"
)

// TopologyOptions are the inputs of `camctl topology`.
type TopologyOptions struct {
	IO *IOStreams
	// Session is the connection state of the run.
	Session func() *session.Session
	Colors  func() ColorScheme
	// Output is -o; Timeout is --timeout, named in error hints.
	Output  string
	Timeout time.Duration

	Wait        bool
	WaitTimeout time.Duration
	// Check makes any state but OK exit with 6.
	Check bool
	// PollInterval is the pause between --wait polls.
	PollInterval time.Duration
}

// NewCmdTopology builds `camctl topology`.
func NewCmdTopology(f *Factory, runF func(context.Context, *TopologyOptions) error) *cobra.Command {
	opts := &TopologyOptions{IO: f.IO, Session: f.newSession, Colors: f.Colors, PollInterval: time.Second}
	cmd := &cobra.Command{
		Use:   "topology",
		Short: "Show the brokers, partitions and health of the cluster",
		Long: `Show the cluster topology (GET /v2/topology): gateway version, brokers, and
for every partition its leader and health.

-o json prints the API's JSON body unchanged (every field, including ones
camctl does not know); -o yaml the same as YAML. The text view shows at
most 1024 brokers (far more than any real cluster has) and says how many
more an answer lists.

Health is OK when every replica is healthy, DEGRADED when every partition
has a healthy leader but some replica is not healthy (it says which, on
which broker), and UNAVAILABLE when a partition has no healthy leader.
--check exits with 6 unless it is OK (with -o json after printing the body).

--wait polls until every partition has a healthy leader, showing progress
on stderr, and exits with 6 if that does not happen within --wait-timeout.`,
		Example: `  camctl topology
  camctl topology -p helm -o json | jq '.brokers[].host'
  camctl topology --wait --wait-timeout 2m   # in CI, after starting a cluster
  camctl topology --check -o json > topology.json   # exit 6 unless OK`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("wait-timeout") && !opts.Wait {
				// Silently ignoring it would make a CI job that meant to
				// wait check once and go on.
				return flagErrorf("--wait-timeout goes with --wait")
			}
			if opts.WaitTimeout <= 0 {
				return flagErrorf("invalid --wait-timeout %s: it must be positive", opts.WaitTimeout)
			}
			opts.Output, opts.Timeout = f.Global.Output, f.Global.Timeout
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runTopology(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Wait, "wait", false, "wait until every partition has a healthy leader")
	cmd.Flags().DurationVar(&opts.WaitTimeout, "wait-timeout", 5*time.Minute, "how long --wait waits")
	cmd.Flags().BoolVar(&opts.Check, "check", false, "exit with 6 unless the health is OK (every replica healthy)")
	return cmd
}

func runTopology(ctx context.Context, opts *TopologyOptions) error {
	s := opts.Session()
	r, err := s.Resolve(nil)
	if err != nil {
		return err
	}
	conn, err := s.Connect(ctx, r)
	if err != nil {
		return explain(err, r, opts.Timeout.String())
	}
	client := conn.Client
	var (
		topo *api.Topology
		raw  []byte
	)
	if opts.Wait {
		topo, raw, err = waitHealthy(ctx, client, opts)
	} else {
		topo, raw, err = client.Topology(ctx)
	}
	if err != nil {
		return explain(err, r, opts.Timeout.String())
	}
	switch opts.Output {
	case OutputJSON:
		err = writeJSONBody(opts.IO.Out, raw)
	case OutputYAML:
		err = writeJSONAsYAML(opts.IO.Out, raw)
	default:
		// One Write for the whole view: Out filters and redacts per write.
		var buf bytes.Buffer
		if err = renderTopology(&buf, opts.Colors(), client.BaseURL().String(), r.Name, topo); err == nil {
			_, err = opts.IO.Out.Write(buf.Bytes())
		}
	}
	if err != nil {
		return err
	}
	// After the output: a script that checks still gets the body.
	if state := topo.Health().State(); opts.Check && state != api.HealthOK {
		return &unhealthyError{state: state}
	}
	return nil
}

// waitHealthy polls until every partition has a healthy leader. While the
// cluster is starting, refused connections, timeouts and 5xx answers are
// expected and only reported as progress; authentication and
// configuration errors end the wait at once.
func waitHealthy(ctx context.Context, client *api.Client, opts *TopologyOptions) (*api.Topology, []byte, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, opts.WaitTimeout)
	defer cancel()
	last, shown, shownAt := "no answer yet", "", time.Time{}
	for attempt := 1; ; attempt++ {
		topo, raw, err := client.Topology(ctx)
		switch {
		case err == nil:
			h := topo.Health()
			if h.Healthy() {
				if attempt > 1 {
					fmt.Fprintf(opts.IO.ErrOut, "Cluster healthy after %s.\n", time.Since(start).Round(100*time.Millisecond))
				}
				return topo, raw, nil
			}
			last = fmt.Sprintf("%d of %d partitions have a healthy leader", len(h.Partitions)-len(h.Unled()), len(h.Partitions))
		case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
			// The wait ran out during this request.
		case ctx.Err() != nil:
			return nil, nil, ctx.Err()
		case !transient(err):
			return nil, nil, err
		default:
			last = err.Error()
		}
		// A line when the state changes, else every 10 s: a CI log
		// should not get 300 lines for a five-minute wait.
		if last != shown || time.Since(shownAt) >= 10*time.Second {
			fmt.Fprintf(opts.IO.ErrOut, "Waiting for the cluster (%s elapsed): %s\n", time.Since(start).Round(time.Second), last)
			shown, shownAt = last, time.Now()
		}
		t := time.NewTimer(opts.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, nil, &waitTimeoutError{msg: fmt.Sprintf("the cluster did not become healthy within %s (last: %s)", opts.WaitTimeout, last)}
			}
			return nil, nil, ctx.Err()
		case <-t.C:
		}
	}
}

func transient(err error) bool {
	var netErr *api.NetError
	var httpErr *api.HTTPError
	var tokenErr *auth.TokenError
	switch {
	case errors.As(err, &tokenErr):
		// Keycloak often starts after the cluster.
		return tokenErr.StatusCode == 0 && tokenErr.Net != api.NetTLS && tokenErr.Net != api.NetUnknownAuthority && tokenErr.Net != api.NetClientCertRequired ||
			tokenErr.StatusCode == http.StatusTooManyRequests || tokenErr.StatusCode >= 500
	case errors.As(err, &netErr):
		// A new ingress host often resolves only after a while.
		return netErr.Kind == api.NetRefused || netErr.Kind == api.NetTimeout || netErr.Kind == api.NetDNS || netErr.Kind == api.NetOther || netErr.Kind == api.NetCutOff
	case errors.As(err, &httpErr):
		return httpErr.StatusCode >= 500 || httpErr.StatusCode == 429
	}
	return false
}

// renderTopology writes the human view: a summary that answers "is every
// partition led by a healthy leader?" first, then one row per broker.
func renderTopology(w io.Writer, cs ColorScheme, address, profile string, t *api.Topology) error {
	t = printableTopology(t)
	h := t.Health()
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k+":", v) }
	row("Address", address)
	row("Profile", profile)
	if t.ClusterID != "" {
		row("Cluster ID", t.ClusterID)
	}
	gw := t.GatewayVersion
	if gw == "" {
		gw = "unknown"
	}
	row("Gateway version", gw)
	row("Cluster size", strconv.Itoa(t.ClusterSize))
	row("Partitions", strconv.Itoa(t.PartitionsCount))
	row("Replication factor", strconv.Itoa(t.ReplicationFactor))
	row("Health", healthLine(cs, h))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)

	brokers := append([]api.Broker(nil), t.Brokers...)
	sort.SliceStable(brokers, func(i, j int) bool {
		if brokers[i].NodeID != brokers[j].NodeID {
			return brokers[i].NodeID < brokers[j].NodeID
		}
		return brokers[i].BrokerID < brokers[j].BrokerID
	})
	if len(brokers) == 0 {
		fmt.Fprintln(w, "No brokers reported.")
		return nil
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BROKER\tADDRESS\tVERSION\tPARTITIONS")
	for _, b := range brokers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", b.ID(), hostPort(b.Host, b.Port), b.Version, partitionsCell(cs, b.Partitions))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// More than any real cluster has: the decoder kept only the first
	// ones (api.Topology.Omitted), so that rendering stays bounded.
	if o := t.Omitted; o.Brokers > 0 || o.Partitions > 0 {
		fmt.Fprintf(w, "... and %d more brokers and %d more partition entries, not shown or counted (the answer lists more than camctl shows).\n", o.Brokers, o.Partitions)
	}
	return nil
}

// healthLine is the summary of spec §2: OK, DEGRADED with the replicas
// that are not healthy, or UNAVAILABLE with the partitions that have no
// healthy leader.
func healthLine(cs ColorScheme, h api.Health) string {
	switch h.State() {
	case api.HealthOK:
		if len(h.Partitions) == 1 {
			return cs.Green("OK: the partition has a healthy leader")
		}
		return cs.Green(fmt.Sprintf("OK: all %d partitions have a healthy leader", len(h.Partitions)))
	case api.HealthDegraded:
		var where []string
		for _, r := range h.Unhealthy {
			health := r.Health
			if health == "" {
				health = "health unknown"
			}
			where = append(where, fmt.Sprintf("partition %d on broker %s (%s)", r.Partition, r.Broker, health))
		}
		for _, p := range h.Partitions {
			if n := h.Missing[p]; n > 0 {
				where = append(where, fmt.Sprintf("partition %d: %d not reported", p, n))
			}
		}
		// A large cluster with a broker down would list hundreds.
		const shown = 5
		if len(where) > shown {
			where = append(where[:shown], fmt.Sprintf("and %d more", len(where)-shown))
		}
		bad := len(h.Unhealthy) + h.MissingCount()
		return cs.Yellow(fmt.Sprintf("DEGRADED: %d of %d replicas not healthy: %s", bad, h.Replicas, strings.Join(where, ", ")))
	}
	if len(h.Partitions) == 0 {
		return cs.Red("UNAVAILABLE: no partitions reported")
	}
	unled := h.Unled()
	return cs.Red(fmt.Sprintf("UNAVAILABLE: %s without a healthy leader", plural(len(unled), "partition", joinInts(unled))))
}

// unhealthyError is `topology --check` finding the cluster not OK.
type unhealthyError struct{ state string }

func (e *unhealthyError) Error() string {
	return fmt.Sprintf("the cluster is %s (topology --check wants OK: every replica healthy)", e.state)
}

// printableTopology is a copy of t whose server-sent text is
// terminal-safe and one line (a tab would open a tabwriter column), so
// that it can be painted: the stdout filter keeps camctl's colour codes.
func printableTopology(t *api.Topology) *api.Topology {
	c := *t
	c.GatewayVersion, c.ClusterID = termsafe.Line(c.GatewayVersion), termsafe.Line(c.ClusterID)
	c.Brokers = make([]api.Broker, len(t.Brokers))
	for i, b := range t.Brokers {
		b.Host, b.Version, b.BrokerID = termsafe.Line(b.Host), termsafe.Line(b.Version), termsafe.Line(b.BrokerID)
		ps := make([]api.Partition, len(b.Partitions))
		for j, p := range b.Partitions {
			p.Role, p.Health, p.State = termsafe.Line(p.Role), termsafe.Line(p.Health), termsafe.Line(p.State)
			ps[j] = p
		}
		b.Partitions = ps
		c.Brokers[i] = b
	}
	return &c
}

// partitionsCell lists "id role" per partition; anything that needs
// attention gets a marker that survives without colour.
func partitionsCell(cs ColorScheme, ps []api.Partition) string {
	ps = append([]api.Partition(nil), ps...)
	sort.Slice(ps, func(i, j int) bool { return ps[i].PartitionID < ps[j].PartitionID })
	cells := make([]string, 0, len(ps))
	for _, p := range ps {
		role := p.Role
		if role == "" {
			role = "unknown"
		}
		cell := fmt.Sprintf("%d %s", p.PartitionID, role)
		if role == "leader" {
			cell = cs.Bold(cell)
		}
		var marks []string
		switch p.Health {
		case "healthy":
		case "unhealthy":
			marks = append(marks, cs.Yellow("UNHEALTHY"))
		case "dead":
			marks = append(marks, cs.Red("DEAD"))
		case "":
			marks = append(marks, cs.Yellow("health unknown"))
		default:
			marks = append(marks, cs.Yellow(strings.ToUpper(p.Health)))
		}
		if p.State != "" && p.State != "active" {
			marks = append(marks, p.State)
		}
		if len(marks) > 0 {
			cell += " (" + strings.Join(marks, ", ") + ")"
		}
		cells = append(cells, cell)
	}
	if len(cells) == 0 {
		return "-"
	}
	return strings.Join(cells, ", ")
}

func hostPort(host string, port int) string {
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port)
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

func plural(n int, word, list string) string {
	if n == 1 {
		return word + " " + list
	}
	return fmt.Sprintf("%d %ss (%s)", n, word, list)
}
