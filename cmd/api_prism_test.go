package cmd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/testutil/fakecamunda"
	"github.com/camctl/camctl/internal/testutil/prismtest"
)

// TestAPIRequestsMatchTheSpec sends the requests of every `camctl api`
// command in README.md, and those of the table tests that name real
// endpoints, to Stoplight Prism serving the Camunda 8.8 OpenAPI spec:
// Prism refuses any request that does not match it. This is how we know
// the requests are right for a real cluster without having one.
func TestAPIRequestsMatchTheSpec(t *testing.T) {
	prism := prismtest.Start(t)
	dir := t.TempDir()
	for name, content := range map[string]string{
		"order-process.bpmn": fakecamunda.BPMN("order-process"),
		"review.form":        `{"components":[],"type":"default","id":"review"}`,
		"vars.json":          `{"orderId": "A-1002", "amount": 7.5}`,
		"start.json":         `{"processDefinitionId":"order-process","variables":{"orderId":"A-1"}}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	readme := readmeText(t)
	t.Chdir(dir)

	var cmds [][]string
	for _, c := range readmeCommands(readme) {
		if len(c.words) > 1 && c.words[1] == "api" {
			cmds = append(cmds, c.words[1:])
		}
	}
	if len(cmds) < 8 {
		t.Fatalf("found %d camctl api commands in README.md; want the recipes", len(cmds))
	}
	cmds = append(cmds,
		[]string{"api", "/process-instances", "--input", "start.json"},
		[]string{"api", "/deployments", "--form", "resources=@order-process.bpmn", "--form", "resources=@review.form", "--form", "tenantId=<default>"},
		[]string{"api", "-X", "GET", "/system/usage-metrics", "-f", "startTime=2026-01-01T00:00:00Z", "-f", "endTime=2026-02-01T00:00:00Z"},
		[]string{"api", "/process-instances/search", "--paginate", "-f", "filter[state]=ACTIVE", "-f", "sort[][field]=startDate", "-f", "sort[][order]=DESC", "-F", "page[limit]=25"},
		[]string{"api", "/process-instances/search", "--paginate", "-F", "page[from]=0", "-F", "page[limit]=40"},
		[]string{"api", "/incidents/search", "-f", "filter[state]=ACTIVE", "-F", "page[limit]=50"},
		[]string{"api", "/process-instances/2251799813685249"},
		[]string{"api", "-X", "POST", "/process-instances/2251799813685249/cancellation"},
	)
	for _, args := range cmds {
		t.Run(strings.Join(args[1:], " "), func(t *testing.T) {
			f, _, _, errOut := testFactory(t, map[string]string{"CAMUNDA_REST_ADDRESS": prism.URL})
			code := run(t, f, args...)
			if err := prism.Accepted(); err != nil {
				t.Fatalf("camctl %s: Prism refused the request:\n%v", strings.Join(args, " "), err)
			}
			if code != 0 && !slices.Contains(args, "--paginate") {
				t.Logf("exit %d (Prism's example answer): %s", code, errOut)
			}
		})
	}
}
