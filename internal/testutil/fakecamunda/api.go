package fakecamunda

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// apiState is what the endpoints beyond topology keep, under Server.mu.
type apiState struct {
	items    int
	lastPage LastPage
	totalCap int
	maxLimit int
	repeat   bool
	searches []Search

	deployments []Deployment
	// deployed are the process definitions deployed, by key.
	deployed map[int64]deployedProcess
	versions map[string]int
	created  map[int64]ProcessInstance
	resolved []string
}

type deployedProcess struct {
	id      string
	version int
	name    string
	xml     []byte
}

func newAPIState() apiState {
	return apiState{maxLimit: DefaultMaxLimit, deployed: map[int64]deployedProcess{}, versions: map[string]int{}, created: map[int64]ProcessInstance{}}
}

// DeploymentBodyCap is the largest deployment body the fake reads.
const DeploymentBodyCap = 32 << 20

// serveAPI answers the endpoints beyond topology; false when r is for
// none of them.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) bool {
	p := r.URL.Path
	if c, ok := collections[p]; ok && r.Method == http.MethodPost {
		s.serveSearch(w, r, c)
		return true
	}
	switch {
	case r.Method == http.MethodPost && p == "/v2/deployments":
		s.serveDeployment(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/v2/process-definitions/") && strings.HasSuffix(p, "/xml"):
		s.serveXML(w, r, strings.TrimSuffix(strings.TrimPrefix(p, "/v2/process-definitions/"), "/xml"))
	case r.Method == http.MethodPost && p == "/v2/process-instances":
		s.serveCreateInstance(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/v2/process-instances/") && !strings.Contains(p[len("/v2/process-instances/"):], "/"):
		s.serveGetInstance(w, r, p[len("/v2/process-instances/"):])
	case r.Method == http.MethodPost && strings.HasPrefix(p, "/v2/incidents/") && strings.HasSuffix(p, "/resolution"):
		s.serveResolve(w, r, strings.TrimSuffix(strings.TrimPrefix(p, "/v2/incidents/"), "/resolution"))
	default:
		return false
	}
	return true
}

// readJSON decodes r's JSON body into v, or answers 400 as Camunda does.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		problem(w, http.StatusUnsupportedMediaType, "Unsupported Media Type",
			fmt.Sprintf("Content-Type '%s' is not supported.", r.Header.Get("Content-Type")), r.URL.Path)
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		invalid(w, r, "Request property cannot be parsed: "+err.Error())
		return false
	}
	return true
}

func invalid(w http.ResponseWriter, r *http.Request, detail string) {
	problem(w, http.StatusBadRequest, "INVALID_ARGUMENT", detail, r.URL.Path)
}

func notFound(w http.ResponseWriter, r *http.Request, detail string) {
	problem(w, http.StatusNotFound, "NOT_FOUND", detail, r.URL.Path)
}

// parseKey is a path's key, or answers 400.
func parseKey(w http.ResponseWriter, r *http.Request, s string) (int64, bool) {
	k, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		invalid(w, r, fmt.Sprintf("The provided key '%s' is not a number.", s))
		return 0, false
	}
	return k, true
}

// DeployedResource is one file part of a deployment.
type DeployedResource struct {
	FileName    string
	ContentType string
	Size        int
	// ProcessID is the BPMN process id found in it ("" for none).
	ProcessID string
}

// Deployment is one POST /v2/deployments as the fake parsed it.
type Deployment struct {
	Key       string
	TenantID  string
	Resources []DeployedResource
	// Fields are the form's other non-file fields.
	Fields map[string]string
}

// Deployments returns the deployments so far.
func (s *Server) Deployments() []Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Deployment(nil), s.api.deployments...)
}

func (s *Server) serveDeployment(w http.ResponseWriter, r *http.Request) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		invalid(w, r, fmt.Sprintf("Expected a multipart/form-data body with 'resources' file parts, got Content-Type '%s'.", r.Header.Get("Content-Type")))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, DeploymentBodyCap)
	mr, err := r.MultipartReader()
	if err != nil {
		invalid(w, r, "multipart body: "+err.Error())
		return
	}
	d := Deployment{TenantID: "<default>", Fields: map[string]string{}}
	var files [][]byte
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			invalid(w, r, "multipart body: "+err.Error())
			return
		}
		body, err := io.ReadAll(part)
		if err != nil {
			invalid(w, r, "multipart body: "+err.Error())
			return
		}
		switch name := part.FormName(); {
		case name == "resources":
			if part.FileName() == "" {
				invalid(w, r, "The 'resources' part has no file name.")
				return
			}
			d.Resources = append(d.Resources, DeployedResource{
				FileName: part.FileName(), ContentType: part.Header.Get("Content-Type"), Size: len(body), ProcessID: bpmnProcessID(body),
			})
			files = append(files, body)
		case name == "tenantId":
			d.TenantID = string(body)
		default:
			d.Fields[name] = string(body)
		}
	}
	if len(d.Resources) == 0 {
		invalid(w, r, "No resources given to deploy: add 'resources' file parts.")
		return
	}

	type processResult struct {
		ProcessDefinitionID      string `json:"processDefinitionId"`
		ProcessDefinitionVersion int    `json:"processDefinitionVersion"`
		ResourceName             string `json:"resourceName"`
		TenantID                 string `json:"tenantId"`
		ProcessDefinitionKey     string `json:"processDefinitionKey"`
	}
	type resourceResult struct {
		ResourceID   string `json:"resourceId"`
		ResourceKey  string `json:"resourceKey"`
		ResourceName string `json:"resourceName"`
		Version      int    `json:"version"`
		TenantID     string `json:"tenantId"`
	}
	type meta struct {
		ProcessDefinition *processResult  `json:"processDefinition,omitempty"`
		Resource          *resourceResult `json:"resource,omitempty"`
	}
	var out struct {
		TenantID      string `json:"tenantId"`
		DeploymentKey string `json:"deploymentKey"`
		Deployments   []meta `json:"deployments"`
	}
	s.mu.Lock()
	d.Key = key(deploymentKeyBase, len(s.api.deployments))
	for i, res := range d.Resources {
		k := int64(deployedKeyBase + len(s.api.deployed))
		id := res.ProcessID
		if id == "" {
			// Not BPMN (a form, a DMN file the fake does not read): a resource.
			s.api.versions["resource:"+res.FileName]++
			out.Deployments = append(out.Deployments, meta{Resource: &resourceResult{
				ResourceID: strings.TrimSuffix(res.FileName, path.Ext(res.FileName)), ResourceKey: strconv.FormatInt(k, 10),
				ResourceName: res.FileName, Version: s.api.versions["resource:"+res.FileName], TenantID: d.TenantID,
			}})
			s.api.deployed[k] = deployedProcess{}
			continue
		}
		s.api.versions[id]++
		v := s.api.versions[id]
		s.api.deployed[k] = deployedProcess{id: id, version: v, name: id, xml: files[i]}
		out.Deployments = append(out.Deployments, meta{ProcessDefinition: &processResult{
			ProcessDefinitionID: id, ProcessDefinitionVersion: v, ResourceName: res.FileName, TenantID: d.TenantID,
			ProcessDefinitionKey: strconv.FormatInt(k, 10),
		}})
	}
	s.api.deployments = append(s.api.deployments, d)
	s.mu.Unlock()
	out.TenantID, out.DeploymentKey = d.TenantID, d.Key
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// bpmnProcessID is the id of the first <process> of a BPMN document, or "".
func bpmnProcessID(doc []byte) string {
	dec := xml.NewDecoder(strings.NewReader(string(doc)))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if el, ok := tok.(xml.StartElement); ok && el.Name.Local == "process" {
			for _, a := range el.Attr {
				if a.Name.Local == "id" {
					return a.Value
				}
			}
		}
	}
}

// BPMN is a minimal executable BPMN document with this process id.
func BPMN(id string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_` + id + `" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="` + id + `" name="` + id + `" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="flow" sourceRef="start" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
`
}

func (s *Server) serveXML(w http.ResponseWriter, r *http.Request, ks string) {
	k, ok := parseKey(w, r, ks)
	if !ok {
		return
	}
	s.mu.Lock()
	n := s.api.items
	dp, deployed := s.api.deployed[k]
	s.mu.Unlock()
	var doc string
	switch {
	case deployed && dp.id != "":
		doc = string(dp.xml)
	case k >= DefinitionKeyBase && k < DefinitionKeyBase+int64(n):
		id, _ := definitionOf(int(k - DefinitionKeyBase))
		doc = BPMN(id)
	default:
		notFound(w, r, fmt.Sprintf("Process definition with key '%d' not found", k))
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	_, _ = io.WriteString(w, doc)
}

// findDefinition is the latest process definition with this BPMN
// process id (deployed ones first), or a definition's key.
func (s *Server) findDefinition(id string, k int64) (key int64, pid string, version int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id != "" {
		for dk, dp := range s.api.deployed {
			if dp.id == id && dp.version > version {
				key, pid, version, ok = dk, id, dp.version, true
			}
		}
		if ok {
			return key, pid, version, ok
		}
		for i := 0; i < min(s.api.items, 10); i++ {
			if did, _ := definitionOf(i); did == id {
				// The latest version of process-i is the last index i+10m below n.
				last := i + (s.api.items-1-i)/10*10
				_, v := definitionOf(last)
				return DefinitionKeyBase + int64(last), id, v, true
			}
		}
		return 0, "", 0, false
	}
	if dp, found := s.api.deployed[k]; found && dp.id != "" {
		return k, dp.id, dp.version, true
	}
	if k >= DefinitionKeyBase && k < DefinitionKeyBase+int64(s.api.items) {
		pid, version = definitionOf(int(k - DefinitionKeyBase))
		return k, pid, version, true
	}
	return 0, "", 0, false
}

func (s *Server) serveCreateInstance(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ProcessDefinitionID  string          `json:"processDefinitionId"`
		ProcessDefinitionKey string          `json:"processDefinitionKey"`
		Variables            json.RawMessage `json:"variables"`
		TenantID             string          `json:"tenantId"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if (req.ProcessDefinitionID == "") == (req.ProcessDefinitionKey == "") {
		invalid(w, r, "Expected either processDefinitionId or processDefinitionKey, but not both.")
		return
	}
	vars := map[string]any{}
	if len(req.Variables) > 0 && string(req.Variables) != "null" {
		if err := json.Unmarshal(req.Variables, &vars); err != nil {
			invalid(w, r, "variables must be a JSON object: "+err.Error())
			return
		}
	}
	var k int64
	if req.ProcessDefinitionKey != "" {
		var ok bool
		if k, ok = parseKey(w, r, req.ProcessDefinitionKey); !ok {
			return
		}
	}
	dk, pid, version, ok := s.findDefinition(req.ProcessDefinitionID, k)
	if !ok {
		what := "process ID '" + req.ProcessDefinitionID + "'"
		if req.ProcessDefinitionID == "" {
			what = "key '" + req.ProcessDefinitionKey + "'"
		}
		notFound(w, r, "Expected to find process definition with "+what+", but none found")
		return
	}
	tenant := req.TenantID
	if tenant == "" {
		tenant = "<default>"
	}
	s.mu.Lock()
	ik := int64(createdKeyBase + len(s.api.created))
	s.api.created[ik] = ProcessInstance{
		ProcessDefinitionID: pid, ProcessDefinitionName: pid, ProcessDefinitionVersion: version,
		StartDate: stamp(0, 0), State: "ACTIVE", TenantID: tenant,
		ProcessInstanceKey: strconv.FormatInt(ik, 10), ProcessDefinitionKey: strconv.FormatInt(dk, 10),
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"processDefinitionId": pid, "processDefinitionVersion": version, "tenantId": tenant, "variables": vars,
		"processDefinitionKey": strconv.FormatInt(dk, 10), "processInstanceKey": strconv.FormatInt(ik, 10),
	})
}

func (s *Server) serveGetInstance(w http.ResponseWriter, r *http.Request, ks string) {
	k, ok := parseKey(w, r, ks)
	if !ok {
		return
	}
	s.mu.Lock()
	n := s.api.items
	p, created := s.api.created[k]
	s.mu.Unlock()
	switch {
	case created:
	case k >= InstanceKeyBase && k < InstanceKeyBase+int64(n):
		p = Instance(int(k - InstanceKeyBase))
	default:
		notFound(w, r, fmt.Sprintf("Process instance with key '%d' not found", k))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(p)
}

// Resolved returns the keys of the incidents resolved so far.
func (s *Server) Resolved() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.api.resolved...)
}

func (s *Server) serveResolve(w http.ResponseWriter, r *http.Request, ks string) {
	k, ok := parseKey(w, r, ks)
	if !ok {
		return
	}
	s.mu.Lock()
	n := s.api.items
	s.mu.Unlock()
	if k < IncidentKeyBase || k >= IncidentKeyBase+int64(n) {
		notFound(w, r, fmt.Sprintf("Incident with key '%d' not found", k))
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
	s.mu.Lock()
	s.api.resolved = append(s.api.resolved, strconv.FormatInt(k, 10))
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// ProblemReply is a scripted problem-detail answer (RFC 9457, as Camunda
// sends them).
func ProblemReply(status int, title, detail string) Reply {
	b, _ := json.Marshal(map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail, "instance": "/v2"})
	return Reply{Status: status, ContentType: "application/problem+json", Body: string(b)}
}

// TooManyRequests is Camunda's backpressure as a 429 (Unavailable is the
// 503 form): the request was not processed, so any method may be resent.
var TooManyRequests = ProblemReply(http.StatusTooManyRequests, "RESOURCE_EXHAUSTED",
	"Expected to handle REST API request, but request could not be processed due to backpressure")
