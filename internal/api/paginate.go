package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// maxPage bounds one search page read into memory: the REST API pages
// are a few hundred KB (a limit of some hundred items); a page beyond
// this is not a search answer.
const maxPage = 32 << 20

// Page is one answer of a search endpoint, as the 8.8 spec defines it:
// `{"items": [...], "page": {"totalItems", "startCursor", "endCursor",
// "hasMoreTotalItems"}}`, and whatever else a newer server adds.
type Page struct {
	// Raw is the whole answer, unchanged.
	Raw []byte
	// Items are the elements of items, unchanged.
	Items []json.RawMessage
	// PageInfo is the page member, unchanged (nil when absent).
	PageInfo json.RawMessage
	// EndCursor is page.endCursor; "" when absent or null.
	EndCursor string
	// Other holds the top-level members besides items and page, in
	// order.
	Other []Member
}

// Member is a top-level member of a page other than items and page.
type Member struct {
	Key   string
	Value json.RawMessage
}

// RepeatedCursorError means the server sent a cursor it had sent
// before: following it would loop. What came before is complete.
type RepeatedCursorError struct {
	Cursor string
	Pages  int
	// Offset: paging by page.from.
	Offset bool
	// SamePage: page Pages had the items of an earlier page (they were
	// not printed again).
	SamePage bool
}

func (e *RepeatedCursorError) Error() string {
	if e.SamePage {
		by := "page.after"
		if e.Offset {
			by = "page.from"
		}
		return fmt.Sprintf("the server answered page %d with the items of an earlier page, as if it ignored %s; stopped there (the items printed are those of the pages before, once each)", e.Pages, by)
	}
	return fmt.Sprintf("the server repeated the cursor of an earlier page after %d pages; stopped there (a server bug: the items printed are complete up to that page, the rest are missing)", e.Pages)
}

// NotSearchError is --paginate with a body that cannot carry a page.
type NotSearchError struct{ Msg string }

func (e *NotSearchError) Error() string { return e.Msg }

// Paginate sends a search request (a JSON object body) and follows its
// pages, calling each for every page in order, until a page is empty or
// has no endCursor (absent or null). It follows page.endCursor into
// page.after, keeping everything else of the first request (filter,
// sort, limit); with page.from in the first request it pages by offset
// instead. totalItems is never a stop rule: it may be capped. A cursor
// seen before ends it with *RepeatedCursorError.
func (c *Client) Paginate(ctx context.Context, req *Request, body []byte, each func(*Page) error) error {
	return c.PaginateBounded(ctx, req, body, maxPage, each)
}

// PaginateBounded is Paginate with pages of at most limit bytes (--jq
// holds a page as Go values, some ten times its size).
func (c *Client) PaginateBounded(ctx context.Context, req *Request, body []byte, limit int, each func(*Page) error) error {
	q, err := parseSearch(body)
	if err != nil {
		return err
	}
	first, order, pageReq, pageOrder, offset := q.body, q.order, q.page, q.pageOrder, q.offset

	seen, seenPage := map[string]bool{}, map[string]bool{}
	for pages := 0; ; pages++ {
		r := *req
		r.Body = BytesBody(body, "application/json")
		resp, err := c.Do(ctx, &r)
		if err != nil {
			if pages > 0 && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("page %d of the search: %w", pages+1, err)
			}
			return err
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
		_ = resp.Body.Close()
		if err != nil {
			if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return ctx.Err()
			}
			// #nosec G125 -- r.Path passed APIPath: it stays under the API base.
			return CutOff(r.Method, c.base.JoinPath(r.Path).Redacted(), fmt.Errorf("reading page %d: %w", pages+1, err))
		}
		if len(raw) > limit {
			return fmt.Errorf("page %d is larger than %d MiB; ask for fewer items a page (-F 'page[limit]=100')", pages+1, limit>>20)
		}
		p, err := ParsePage(raw)
		if err != nil {
			return fmt.Errorf("page %d of %s: %w", pages+1, r.Path, err)
		}
		if len(p.Items) == 0 {
			if pages == 0 {
				return each(p) // the document of no items
			}
			return nil
		}
		// A server that ignores page.from or page.after answers a page
		// it sent before: its items would be printed twice.
		h := sha256.New()
		for _, it := range p.Items {
			h.Write(it)
		}
		if sum := "items:" + string(h.Sum(nil)); seenPage[sum] {
			return &RepeatedCursorError{Pages: pages + 1, Offset: offset >= 0, SamePage: true}
		} else {
			seenPage[sum] = true
		}
		if err := each(p); err != nil {
			return err
		}
		if offset >= 0 {
			offset += int64(len(p.Items))
			pageReq["from"] = json.RawMessage(strconv.FormatInt(offset, 10))
		} else {
			if p.EndCursor == "" {
				return nil
			}
			if seen[p.EndCursor] {
				return &RepeatedCursorError{Cursor: p.EndCursor, Pages: pages + 1}
			}
			seen[p.EndCursor] = true
			cur, _ := json.Marshal(p.EndCursor)
			pageReq["after"] = cur
			if !slices.Contains(pageOrder, "after") {
				pageOrder = append(pageOrder, "after")
			}
		}
		first["page"] = encodeOrdered(pageOrder, pageReq)
		body = encodeOrdered(order, first)
	}
}

// ParsePage reads a search answer.
func ParsePage(raw []byte) (*Page, error) {
	p := &Page{Raw: raw}
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, errors.New("the answer is not a JSON object with items (is this a search endpoint?)")
	}
	hasItems := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		switch key {
		case "items":
			hasItems = true
			if string(v) != "null" {
				if err := json.Unmarshal(v, &p.Items); err != nil {
					return nil, errors.New("its items are not an array")
				}
			}
		case "page":
			p.PageInfo = v
			var info struct {
				EndCursor *string `json:"endCursor"`
			}
			if json.Unmarshal(v, &info) == nil && info.EndCursor != nil {
				p.EndCursor = *info.EndCursor
			}
		default:
			p.Other = append(p.Other, Member{Key: key, Value: v})
		}
	}
	if !hasItems {
		return nil, errors.New("the answer has no items (is this a search endpoint?)")
	}
	return p, nil
}

// search is a search request as --paginate pages it.
type search struct {
	body      map[string]json.RawMessage
	order     []string
	page      map[string]json.RawMessage
	pageOrder []string
	// offset is page.from, or -1 for cursor paging.
	offset int64
}

// CheckSearch reports whether body is a search request that --paginate
// can page (before anything is sent).
func CheckSearch(body []byte) error {
	_, err := parseSearch(body)
	return err
}

func parseSearch(body []byte) (*search, error) {
	q := &search{page: map[string]json.RawMessage{}, offset: -1}
	if err := json.Unmarshal(body, &q.body); err != nil || q.body == nil {
		return nil, &NotSearchError{Msg: "--paginate needs a JSON object as the request body (the search request: filter, sort, page)"}
	}
	order, err := memberOrder(body)
	if err != nil {
		return nil, &NotSearchError{Msg: "--paginate: the request body: " + err.Error()}
	}
	q.order = order
	if raw, ok := q.body["page"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &q.page); err != nil || q.page == nil {
			return nil, &NotSearchError{Msg: "--paginate: the request's page must be an object such as {\"limit\": 100}"}
		}
		q.pageOrder, _ = memberOrder(raw)
	}
	if _, ok := q.page["before"]; ok {
		return nil, &NotSearchError{Msg: "--paginate follows page.after forwards; drop page.before (or page through it yourself without --paginate)"}
	}
	if raw, ok := q.page["from"]; ok {
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || n < 0 {
			return nil, &NotSearchError{Msg: "--paginate: page.from must be a number of items to skip"}
		}
		q.offset = n
	}
	if !slices.Contains(q.order, "page") {
		q.order = append(q.order, "page")
	}
	return q, nil
}

// memberOrder lists the keys of a JSON object in the order they appear.
func memberOrder(raw []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string)
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

func encodeOrdered(order []string, m map[string]json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	buf.WriteByte('{')
	n := 0
	for _, k := range order {
		v, ok := m[k]
		if !ok {
			continue
		}
		if n > 0 {
			buf.WriteByte(',')
		}
		n++
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// Merger writes the pages of a search as one document shaped like a
// single page: every page's items in order, then the first page's page
// member with the last endCursor, then the first page's other members.
// It writes items as they come, so memory stays bounded.
type Merger struct {
	w      io.Writer
	n      int
	first  *Page
	cursor string
	err    error
}

// NewMerger writes the merged document to w.
func NewMerger(w io.Writer) *Merger { return &Merger{w: w} }

func (m *Merger) write(b []byte) {
	if m.err == nil {
		_, m.err = m.w.Write(b)
	}
}

// Add writes a page's items.
func (m *Merger) Add(p *Page) error {
	if m.first == nil {
		m.first = &Page{PageInfo: p.PageInfo, Other: p.Other}
		m.write([]byte(`{"items":[`))
	}
	if p.EndCursor != "" {
		m.cursor = p.EndCursor
	}
	for _, it := range p.Items {
		if m.n > 0 {
			m.write([]byte{','})
		}
		m.n++
		m.write(it)
	}
	return m.err
}

// Close ends the document; with no page at all it writes nothing.
func (m *Merger) Close() error {
	if m.first == nil {
		return m.err
	}
	m.write([]byte{']'})
	if m.first.PageInfo != nil {
		info := m.first.PageInfo
		if m.cursor != "" {
			var pi map[string]json.RawMessage
			if order, err := memberOrder(info); err == nil && json.Unmarshal(info, &pi) == nil {
				cur, _ := json.Marshal(m.cursor)
				pi["endCursor"] = cur
				if !slices.Contains(order, "endCursor") {
					order = append(order, "endCursor")
				}
				info = encodeOrdered(order, pi)
			}
		}
		m.write([]byte(`,"page":`))
		m.write(info)
	}
	for _, o := range m.first.Other {
		kb, _ := json.Marshal(o.Key)
		m.write([]byte{','})
		m.write(kb)
		m.write([]byte{':'})
		m.write(o.Value)
	}
	m.write([]byte("}\n"))
	return m.err
}
