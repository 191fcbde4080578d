package prismtest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camctl/camctl/internal/testutil/fakecamunda"
	"github.com/camctl/camctl/internal/testutil/npmcache"
	"github.com/camctl/camctl/internal/testutil/testneed"
)

// The patch finds both quirks in Camunda's 8.8 spec; when a new spec no
// longer has them, this says so and the patch can go.
func TestPatch(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "patched.yaml")
	p, err := Patch(SpecPath(), dst)
	if err != nil {
		t.Fatal(err)
	}
	if p.ObjectOneOf == 0 || p.MultipartArrays == 0 {
		t.Errorf("patches %+v: the spec changed, review Patch", p)
	}
	body, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(body, []byte("ProcessInstanceStateFilterProperty:")) || !bytes.Contains(body, []byte("/process-instances/search:")) {
		t.Error("the patched spec lost its schemas or paths")
	}
}

func send(t *testing.T, method, url, ct, accept string, body io.Reader, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept", accept)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestPrismValidates(t *testing.T) {
	p := Start(t)
	t.Logf("Prism started in %v", p.Started)
	api := p.URL + "/v2"

	t.Run("valid search", func(t *testing.T) {
		resp, b := send(t, "POST", api+"/process-instances/search", "application/json", "*/*",
			strings.NewReader(`{"filter":{"state":"ACTIVE"},"page":{"limit":5}}`))
		if err := p.Accepted(); err != nil || resp.StatusCode != 200 {
			t.Errorf("%d %s: %v", resp.StatusCode, b, err)
		}
	})
	t.Run("limit not a number", func(t *testing.T) {
		resp, _ := send(t, "POST", api+"/process-instances/search", "application/json", "*/*", strings.NewReader(`{"page":{"limit":"x"}}`))
		err := p.Accepted()
		// The operation has a 400 answer: Prism sends its example.
		if err == nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("%d, %v: want refused with 400", resp.StatusCode, err)
		}
		if !strings.Contains(err.Error(), "request.body.page.limit: Request body property page.limit must be integer") {
			t.Errorf("the refusal does not name page.limit:\n%v", err)
		}
	})
	t.Run("deployment", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="resources"; filename="order.bpmn"`)
		h.Set("Content-Type", "application/xml")
		w, _ := mw.CreatePart(h)
		_, _ = io.WriteString(w, fakecamunda.BPMN("order"))
		_ = mw.WriteField("tenantId", "<default>")
		_ = mw.Close()
		resp, b := send(t, "POST", api+"/deployments", mw.FormDataContentType(), "*/*", &buf)
		if err := p.Accepted(); err != nil || resp.StatusCode != 200 {
			t.Errorf("%d %s: %v", resp.StatusCode, b, err)
		}
		resp, _ = send(t, "POST", api+"/deployments", "application/json", "*/*", strings.NewReader(`{}`))
		if err := p.Accepted(); err == nil || !strings.Contains(err.Error(), "multipart/form-data") {
			t.Errorf("a JSON deployment: %d, %v", resp.StatusCode, err)
		}
	})
	t.Run("xml", func(t *testing.T) {
		resp, b := send(t, "GET", api+"/process-definitions/2251799813686749/xml", "", "*/*", nil)
		if err := p.Accepted(); err != nil || resp.Header.Get("Content-Type") != "text/xml" {
			t.Errorf("%d %s %s: %v", resp.StatusCode, resp.Header.Get("Content-Type"), b, err)
		}
		resp, _ = send(t, "GET", api+"/process-definitions/2251799813686749/xml", "", "application/json", nil)
		if err := p.Accepted(); resp.StatusCode != http.StatusNotAcceptable || err == nil || !strings.Contains(err.Error(), "NOT_ACCEPTABLE") {
			t.Errorf("Accept: application/json: %d, %v", resp.StatusCode, err)
		}
	})
	t.Run("create and resolve", func(t *testing.T) {
		send(t, "POST", api+"/process-instances", "application/json", "*/*", strings.NewReader(`{"processDefinitionId":"order","variables":{"n":1}}`))
		send(t, "POST", api+"/incidents/2251799813686749/resolution", "", "*/*", nil)
		send(t, "GET", api+"/process-instances/2251799813686749", "", "*/*", nil)
		p.AssertAccepted(t)
		send(t, "POST", api+"/process-instances", "application/json", "*/*", strings.NewReader(`{"variables":{"n":1}}`))
		if p.Accepted() == nil {
			t.Error("a create without a process definition passed")
		}
	})
	t.Run("security", func(t *testing.T) {
		resp, _ := send(t, "GET", api+"/authentication/me", "", "*/*", nil)
		if err := p.Accepted(); resp.StatusCode != http.StatusUnauthorized || err == nil {
			t.Errorf("no Authorization: %d, %v", resp.StatusCode, err)
		}
		send(t, "GET", api+"/authentication/me", "", "*/*", nil, "Authorization", "Bearer anything")
		send(t, "GET", api+"/topology", "", "*/*", nil)
		p.AssertAccepted(t)
	})
	t.Run("outside the API", func(t *testing.T) {
		send(t, "GET", p.URL+"/topology", "", "*/*", nil)
		send(t, "GET", api+"/no-such-thing", "", "*/*", nil)
		refused, seen := p.Refusals()
		if seen != 2 || len(refused) != 2 {
			t.Errorf("%d of %d refused: %v", len(refused), seen, refused)
		}
		if err := p.Accepted(); err != ErrNoRequest {
			t.Errorf("nothing sent: %v", err)
		}
	})
}

// A fresh clone has no testdata/prism/node_modules: the first Start
// installs the packages package-lock.json pins into a cache named after
// the lock file; the second finds them.
func TestInstallOnDemand(t *testing.T) {
	testneed.Programs(t, needNode(), "node", "npm")
	src := t.TempDir()
	for _, name := range []string{"package.json", "package-lock.json"} {
		body, err := os.ReadFile(filepath.Join(root(), "testdata", "prism", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cache := t.TempDir()
	dir, ran := npmcache.Install(t, packages(src), cache)
	if !ran {
		t.Fatal("the first install did not run npm")
	}
	var got struct{ Version string }
	body, err := os.ReadFile(filepath.Join(dir, "node_modules", "@stoplight", "prism-cli", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &got); err != nil || got.Version != "5.16.0" {
		t.Errorf("installed prism-cli %q (%v), want 5.16.0", got.Version, err)
	}
	if _, again := npmcache.Install(t, packages(src), cache); again {
		t.Error("the second install ran npm again")
	}
	// An operation without a 400 answer: Prism's own 422 problem lists
	// the violations in its body instead of the header.
	spec := filepath.Join(t.TempDir(), "mini.yaml")
	if err := os.WriteFile(spec, []byte(miniSpec), 0o600); err != nil {
		t.Fatal(err)
	}
	node, script := prepare(t, src, cache)
	p := start(t, node, script, spec)
	send(t, "POST", p.URL+"/v2/x", "application/json", "*/*", strings.NewReader(`{"n":1}`))
	p.AssertAccepted(t)
	resp, _ := send(t, "POST", p.URL+"/v2/x", "application/json", "*/*", strings.NewReader(`{"n":"x"}`))
	err = p.Accepted()
	if resp.StatusCode != http.StatusUnprocessableEntity || err == nil ||
		!strings.Contains(err.Error(), "request.body.n: Request body property n must be integer") {
		t.Errorf("%d: %v", resp.StatusCode, err)
	}
}

const miniSpec = `openapi: 3.0.3
info: {title: mini, version: "1"}
paths:
  /x:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, properties: {n: {type: integer}}}
      responses:
        "204": {description: done}
`
