package fakecamunda

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// The search endpoints serve a synthetic data set: n process
// definitions, n process instances and n incidents (SetItems), each made
// from its index when it is written, so that 100,000 items cost no
// memory. Items are in ascending key order; sort is recorded, not
// applied. Keys are the index plus a base per kind, far enough apart for
// n up to MaxItems.
const (
	// MaxItems is the largest data set SetItems takes.
	MaxItems = 1_000_000

	DefinitionKeyBase = 2251799813000000
	InstanceKeyBase   = 2251799813685249
	IncidentKeyBase   = InstanceKeyBase + MaxItems
	deployedKeyBase   = IncidentKeyBase + MaxItems
	createdKeyBase    = deployedKeyBase + MaxItems
	deploymentKeyBase = createdKeyBase + MaxItems

	// DefaultLimit is page.limit when a request has none (the spec's default).
	DefaultLimit = 100
	// DefaultMaxLimit is the largest page.limit the fake takes before
	// answering 400. The 8.8 spec states no maximum; 10,000 is also
	// where TotalCap's real counterpart (Elasticsearch) stops counting.
	DefaultMaxLimit = 10_000
)

// LastPage is how the fake ends a result set: both kinds of server exist.
type LastPage int

const (
	// LastPageEmpty: every non-empty page has an endCursor; the page
	// after the last item is empty, with null cursors (Camunda 8.8).
	LastPageEmpty LastPage = iota
	// LastPageNullCursor: the page with the last item has "endCursor": null.
	LastPageNullCursor
	// LastPageNoCursor: the page with the last item has no endCursor key.
	LastPageNoCursor
)

// Search is one search request as the fake understood it.
type Search struct {
	Path string
	// Filter and Sort are the request's, verbatim (nil when absent).
	Filter json.RawMessage
	Sort   json.RawMessage
	Page   struct {
		Limit  *int    `json:"limit"`
		From   *int    `json:"from"`
		After  *string `json:"after"`
		Before *string `json:"before"`
	}
	// Items is how many items the answer had.
	Items int
}

// SetItems makes the data set n items of each kind (0 to MaxItems).
func (s *Server) SetItems(n int) {
	if n < 0 || n > MaxItems {
		panic(fmt.Sprintf("fakecamunda: SetItems(%d): want 0 to %d", n, MaxItems))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.api.items = n
}

// SetLastPage chooses how a result set ends (default LastPageEmpty).
func (s *Server) SetLastPage(m LastPage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.api.lastPage = m
}

// CapTotal makes page.totalItems at most n, with hasMoreTotalItems true
// when more match, as Camunda does over Elasticsearch at 10,000: a
// client that stops at totalItems stops early. 0 turns it off.
func (s *Server) CapTotal(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.api.totalCap = n
}

// SetMaxLimit changes the largest page.limit accepted (DefaultMaxLimit).
func (s *Server) SetMaxLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.api.maxLimit = n
}

// RepeatCursor makes the fake buggy: a page asked for with page.after
// answers that same cursor as its endCursor (with the right items), so a
// client that follows cursors blindly never ends. camctl must notice.
func (s *Server) RepeatCursor(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.api.repeat = on
}

// Searches returns the search requests so far, in order: a test checks
// that filter and sort were kept across pages.
func (s *Server) Searches() []Search {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Search(nil), s.api.searches...)
}

// collection is one searchable kind of item.
type collection struct {
	base int64
	// states is the state of item i: states[i%len(states)]; nil when
	// the kind has no state filter.
	states []string
	// item writes item i as JSON.
	item func(i int) any
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func stamp(i int, plus time.Duration) string {
	return epoch.Add(time.Duration(i)*time.Second + plus).Format("2006-01-02T15:04:05.000Z")
}

func key(base int64, i int) string { return strconv.FormatInt(base+int64(i), 10) }

// instanceStates: three in four instances are active.
var instanceStates = []string{"ACTIVE", "ACTIVE", "ACTIVE", "COMPLETED"}

// incidentStates: two in three incidents are active.
var incidentStates = []string{"ACTIVE", "ACTIVE", "RESOLVED"}

// definitionOf is process definition i's BPMN process id and version:
// ten processes, each deployed again and again.
func definitionOf(i int) (id string, version int) {
	return fmt.Sprintf("process-%d", i%10), i/10 + 1
}

// ProcessInstance is a process instance as the search and GET answer it
// (ProcessInstanceResult).
type ProcessInstance struct {
	ProcessDefinitionID      string `json:"processDefinitionId"`
	ProcessDefinitionName    string `json:"processDefinitionName"`
	ProcessDefinitionVersion int    `json:"processDefinitionVersion"`
	StartDate                string `json:"startDate"`
	EndDate                  string `json:"endDate,omitempty"`
	State                    string `json:"state"`
	HasIncident              bool   `json:"hasIncident"`
	TenantID                 string `json:"tenantId"`
	ProcessInstanceKey       string `json:"processInstanceKey"`
	ProcessDefinitionKey     string `json:"processDefinitionKey"`
}

// Instance is synthetic process instance i.
func Instance(i int) ProcessInstance {
	id, _ := definitionOf(i % 10)
	p := ProcessInstance{
		ProcessDefinitionID: id, ProcessDefinitionName: "Process " + id[len("process-"):], ProcessDefinitionVersion: 1,
		StartDate: stamp(i, 0), State: instanceStates[i%len(instanceStates)], HasIncident: i%8 == 1,
		TenantID: "<default>", ProcessInstanceKey: key(InstanceKeyBase, i), ProcessDefinitionKey: key(DefinitionKeyBase, i%10),
	}
	if p.State != "ACTIVE" {
		p.EndDate = stamp(i, time.Minute)
	}
	return p
}

// Incident is an incident as the search answers it (IncidentResult).
type Incident struct {
	ProcessDefinitionID  string `json:"processDefinitionId"`
	ErrorType            string `json:"errorType"`
	ErrorMessage         string `json:"errorMessage"`
	ElementID            string `json:"elementId"`
	CreationTime         string `json:"creationTime"`
	State                string `json:"state"`
	TenantID             string `json:"tenantId"`
	IncidentKey          string `json:"incidentKey"`
	ProcessDefinitionKey string `json:"processDefinitionKey"`
	ProcessInstanceKey   string `json:"processInstanceKey"`
	ElementInstanceKey   string `json:"elementInstanceKey"`
	JobKey               string `json:"jobKey"`
}

// IncidentAt is synthetic incident i, on process instance 8i+1 (one
// with hasIncident).
func IncidentAt(i int) Incident {
	pi := 8*i + 1
	id, _ := definitionOf(pi % 10)
	return Incident{
		ProcessDefinitionID: id, ErrorType: "JOB_NO_RETRIES", ErrorMessage: "No more retries left.",
		ElementID: "task", CreationTime: stamp(pi, time.Second), State: incidentStates[i%len(incidentStates)],
		TenantID: "<default>", IncidentKey: key(IncidentKeyBase, i), ProcessDefinitionKey: key(DefinitionKeyBase, pi%10),
		ProcessInstanceKey: key(InstanceKeyBase, pi), ElementInstanceKey: key(InstanceKeyBase, pi) + "1", JobKey: key(InstanceKeyBase, pi) + "2",
	}
}

// ProcessDefinition is a process definition as the search answers it
// (ProcessDefinitionResult).
type ProcessDefinition struct {
	Name                 string `json:"name"`
	ResourceName         string `json:"resourceName"`
	Version              int    `json:"version"`
	ProcessDefinitionID  string `json:"processDefinitionId"`
	TenantID             string `json:"tenantId"`
	ProcessDefinitionKey string `json:"processDefinitionKey"`
	HasStartForm         bool   `json:"hasStartForm"`
}

// Definition is synthetic process definition i.
func Definition(i int) ProcessDefinition {
	id, v := definitionOf(i)
	return ProcessDefinition{
		Name: "Process " + id[len("process-"):], ResourceName: id + ".bpmn", Version: v, ProcessDefinitionID: id,
		TenantID: "<default>", ProcessDefinitionKey: key(DefinitionKeyBase, i),
	}
}

var collections = map[string]collection{
	"/v2/process-instances/search":   {base: InstanceKeyBase, states: instanceStates, item: func(i int) any { return Instance(i) }},
	"/v2/incidents/search":           {base: IncidentKeyBase, states: incidentStates, item: func(i int) any { return IncidentAt(i) }},
	"/v2/process-definitions/search": {base: DefinitionKeyBase, item: func(i int) any { return Definition(i) }},
}

// view is a collection of n items seen through a state filter: the
// matching items' indexes are a fixed pattern per period of the states,
// so the j-th match and the number of matches are arithmetic.
type view struct {
	n      int
	period int
	slots  []int // positions in a period that match
}

func newView(c collection, n int, state string) view {
	if c.states == nil || state == "" {
		return view{n: n, period: 1, slots: []int{0}}
	}
	v := view{n: n, period: len(c.states)}
	for i, st := range c.states {
		if st == state {
			v.slots = append(v.slots, i)
		}
	}
	return v
}

// count is how many of the first i items match.
func (v view) count(i int) int {
	if len(v.slots) == 0 {
		return 0
	}
	c := i / v.period * len(v.slots)
	for _, sl := range v.slots {
		if sl < i%v.period {
			c++
		}
	}
	return c
}

func (v view) total() int { return v.count(v.n) }

// index is the item index of the j-th match.
func (v view) index(j int) int { return j/len(v.slots)*v.period + v.slots[j%len(v.slots)] }

// cursor is the opaque cursor of item i: like Camunda's, base64 of the
// JSON array of the sort values (here only the key).
func cursor(c collection, i int) string {
	return base64.StdEncoding.EncodeToString([]byte("[" + key(c.base, i) + "]"))
}

// uncursor is the item index of a cursor of this collection.
func uncursor(c collection, n int, cur string) (int, bool) {
	raw, err := base64.StdEncoding.DecodeString(cur)
	if err != nil {
		return 0, false
	}
	var vals []int64
	if json.Unmarshal(raw, &vals) != nil || len(vals) != 1 {
		return 0, false
	}
	i := vals[0] - c.base
	if i < 0 || i >= int64(n) {
		return 0, false
	}
	return int(i), true
}

// stateFilter is filter.state as an exact match or {"$eq": ...}.
func stateFilter(filter json.RawMessage) (string, error) {
	if len(filter) == 0 || string(filter) == "null" {
		return "", nil
	}
	var f struct {
		State json.RawMessage `json:"state"`
	}
	if err := json.Unmarshal(filter, &f); err != nil {
		return "", fmt.Errorf("filter: %v", err)
	}
	if len(f.State) == 0 {
		return "", nil
	}
	var exact string
	if json.Unmarshal(f.State, &exact) == nil {
		return exact, nil
	}
	var adv struct {
		Eq *string `json:"$eq"`
	}
	if json.Unmarshal(f.State, &adv) != nil || adv.Eq == nil {
		return "", fmt.Errorf("filter.state: the fake takes a string or {\"$eq\": string}, got %s", f.State)
	}
	return *adv.Eq, nil
}

// serveSearch answers POST on a search path.
func (s *Server) serveSearch(w http.ResponseWriter, r *http.Request, c collection) {
	var req struct {
		Filter json.RawMessage `json:"filter"`
		Sort   json.RawMessage `json:"sort"`
		Page   json.RawMessage `json:"page"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	rec := Search{Path: r.URL.Path, Filter: req.Filter, Sort: req.Sort}
	if len(req.Page) > 0 && string(req.Page) != "null" {
		dec := json.NewDecoder(bytes.NewReader(req.Page))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec.Page); err != nil {
			invalid(w, r, "page: "+err.Error())
			return
		}
	}
	state, err := stateFilter(req.Filter)
	if err != nil {
		invalid(w, r, err.Error())
		return
	}
	s.mu.Lock()
	n, st := s.api.items, s.api
	s.mu.Unlock()

	p := rec.Page
	limit := DefaultLimit
	if p.Limit != nil {
		limit = *p.Limit
	}
	switch {
	case limit < 1 || limit > st.maxLimit:
		invalid(w, r, fmt.Sprintf("page.limit must be between 1 and %d, got %d", st.maxLimit, limit))
		return
	case p.After != nil && p.Before != nil, p.From != nil && (p.After != nil || p.Before != nil):
		invalid(w, r, "page: offset-based (from) and cursor-based (after, before) pagination cannot be combined, nor after with before")
		return
	case p.From != nil && *p.From < 0:
		invalid(w, r, "page.from must be 0 or more")
		return
	}
	v := newView(c, n, state)
	total := v.total()
	start, end := 0, min(limit, total)
	switch {
	case p.From != nil:
		start = min(*p.From, total)
		end = min(start+limit, total)
	case p.After != nil:
		i, ok := uncursor(c, n, *p.After)
		if !ok {
			invalid(w, r, "page.after is not a cursor of this search: "+*p.After)
			return
		}
		start = v.count(i + 1)
		end = min(start+limit, total)
	case p.Before != nil:
		i, ok := uncursor(c, n, *p.Before)
		if !ok {
			invalid(w, r, "page.before is not a cursor of this search: "+*p.Before)
			return
		}
		end = v.count(i)
		start = max(0, end-limit)
	}
	rec.Items = end - start
	s.mu.Lock()
	s.api.searches = append(s.api.searches, rec)
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	bw.WriteString(`{"items":[`)
	for j := start; j < end; j++ {
		if j > start {
			bw.WriteByte(',')
		}
		// Encode ends each item with a newline: valid JSON whitespace.
		if err := enc.Encode(c.item(v.index(j))); err != nil {
			return
		}
	}
	shown, more := total, false
	if st.totalCap > 0 && total > st.totalCap {
		shown, more = st.totalCap, true
	}
	fmt.Fprintf(bw, `],"page":{"totalItems":%d,"hasMoreTotalItems":%t`, shown, more)
	switch {
	case start < end:
		fmt.Fprintf(bw, `,"startCursor":%q`, cursor(c, v.index(start)))
	case st.lastPage != LastPageNoCursor:
		bw.WriteString(`,"startCursor":null`)
	}
	endCur := ""
	if start < end {
		endCur = strconv.Quote(cursor(c, v.index(end-1)))
	}
	if st.repeat && p.After != nil && start < end {
		endCur = strconv.Quote(*p.After)
	}
	last := end == total
	switch {
	case (start == end || last) && st.lastPage == LastPageNoCursor:
	case start == end, last && st.lastPage == LastPageNullCursor:
		bw.WriteString(`,"endCursor":null`)
	default:
		bw.WriteString(`,"endCursor":` + endCur)
	}
	bw.WriteString("}}\n")
	_ = bw.Flush()
}
