//go:build unix

package api

import (
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"strings"
	"testing"
)

// A file part from a pipe (`--form resources=@<(...)`) gives its bytes
// once; after a 401 the part must be sent whole again, not empty (found
// by review), and ;filename= names it.
func TestFormBodyFromAPipeIsReplayed(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		fmt.Fprint(w, `<definitions id="piped"/>`)
		w.Close()
	}()
	p, err := ParseFormPart(fmt.Sprintf("resources=@/dev/fd/%d;filename=order.bpmn", r.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	body, err := FormBody([]FormPart{p}, &Sources{})
	if err != nil {
		t.Fatal(err)
	}
	_, params, _ := mime.ParseMediaType(body.ContentType)
	for attempt := range 2 {
		rc, err := body.Open()
		if err != nil {
			t.Fatal(err)
		}
		part, err := multipart.NewReader(rc, params["boundary"]).NextPart()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(part)
		rc.Close()
		if string(got) != `<definitions id="piped"/>` || part.FileName() != "order.bpmn" || part.Header.Get("Content-Type") != "application/xml" {
			t.Fatalf("attempt %d: part %q %q %q", attempt, part.FileName(), part.Header.Get("Content-Type"), got)
		}
	}
	if !strings.HasPrefix(body.ContentType, "multipart/form-data; boundary=") {
		t.Errorf("content type %q", body.ContentType)
	}
}
