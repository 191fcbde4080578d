//go:build linux

package secretservicetest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// BusProxy sits between a test and the session bus and records the
// member name of every method call the test's connections send, in
// order. It counts what goes over the wire, whatever library makes the
// calls, so a test can compare call sequences of two implementations.
type BusProxy struct {
	// Address is the D-Bus address to connect to instead of the bus.
	Address string

	upstream string // "unix" dial address of the real bus
	mu       sync.Mutex
	calls    []string
	// waits counts calls sent while no earlier call of the same
	// connection awaited its answer: each starts a round trip, while a
	// call sent behind another shares that one's.
	waits int
}

// conn is what the proxy knows of one client connection.
type conn struct {
	mu          sync.Mutex
	outstanding map[uint32]bool // serials of calls awaiting an answer
}

// StartBusProxy listens on a socket of its own and forwards every
// connection to the bus in DBUS_SESSION_BUS_ADDRESS (inside Run). It stops
// when t ends.
func StartBusProxy(t *testing.T) *BusProxy {
	t.Helper()
	up, err := unixAddress(os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(ShortTempDir(t), "bus")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p := &BusProxy{Address: "unix:path=" + sock, upstream: up}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return // listener closed
			}
			go p.serve(t, c)
		}
	}()
	return p
}

// NoReply marks a call sent without waiting for an answer: "Close" + NoReply.
const NoReply = " (no reply)"

// Calls returns the member names of the method calls sent so far
// ("Hello", "SearchItems", "Close (no reply)", ...).
func (p *BusProxy) Calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

// Since returns the calls after the first n.
func (p *BusProxy) Since(n int) []string { return p.Calls()[n:] }

func (p *BusProxy) serve(t *testing.T, client net.Conn) {
	defer client.Close()
	server, err := net.Dial("unix", p.upstream)
	if err != nil {
		t.Errorf("bus proxy: %v", err)
		return
	}
	defer server.Close()
	c := &conn{outstanding: map[uint32]bool{}}
	go func() {
		_ = c.backward(bufio.NewReader(server), client)
		client.Close()
	}()
	// forward returns only when a side closes, with why.
	if err := p.forward(c, bufio.NewReader(client), server); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, syscall.ECONNRESET) {
		t.Logf("bus proxy: %v", err)
	}
}

// forward copies the client's side: the SASL lines up to BEGIN, then one
// message at a time, recording each method call before passing it on.
// A call is thus recorded before its reply can exist.
func (p *BusProxy) forward(c *conn, r *bufio.Reader, w io.Writer) error {
	nul, err := r.ReadByte()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte{nul}); err != nil {
		return err
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, line); err != nil {
			return err
		}
		if line == "BEGIN\r\n" {
			break
		}
	}
	for {
		msg, err := readMessage(r)
		if err != nil {
			return err
		}
		if msg[1] == 1 { // METHOD_CALL
			name := member(msg)
			noReply := msg[2]&1 != 0 // NO_REPLY_EXPECTED
			if noReply {
				name += NoReply
			}
			c.mu.Lock()
			idle := len(c.outstanding) == 0
			if !noReply {
				c.outstanding[order(msg).Uint32(msg[8:12])] = true
			}
			c.mu.Unlock()
			p.mu.Lock()
			p.calls = append(p.calls, name)
			if idle && !noReply {
				p.waits++
			}
			p.mu.Unlock()
		}
		if _, err := w.Write(msg); err != nil {
			return err
		}
	}
}

// backward copies the bus's side: SASL lines (none starts with the 'l'
// or 'B' of a message), then messages, noting which calls got answers.
func (c *conn) backward(r *bufio.Reader, w io.Writer) error {
	for {
		b, err := r.Peek(1)
		if err != nil {
			return err
		}
		if b[0] == 'l' || b[0] == 'B' {
			break
		}
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, line); err != nil {
			return err
		}
	}
	for {
		msg, err := readMessage(r)
		if err != nil {
			return err
		}
		if msg[1] == 2 || msg[1] == 3 { // METHOD_RETURN, ERROR
			if serial, ok := field(msg, 5); ok { // REPLY_SERIAL
				c.mu.Lock()
				delete(c.outstanding, serial)
				c.mu.Unlock()
			}
		}
		if _, err := w.Write(msg); err != nil {
			return err
		}
	}
}

// Waits is the number of round trips so far: calls sent while none of
// their connection's earlier calls awaited an answer.
func (p *BusProxy) Waits() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waits
}

func order(msg []byte) binary.ByteOrder {
	if msg[0] == 'B' {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// readMessage reads one whole D-Bus message: the 16-byte fixed header,
// the header fields (padded to 8 bytes) and the body.
func readMessage(r *bufio.Reader) ([]byte, error) {
	head := make([]byte, 16)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, err
	}
	bo := order(head)
	bodyLen, fieldsLen := bo.Uint32(head[4:8]), bo.Uint32(head[12:16])
	total := align(16+int(fieldsLen), 8) + int(bodyLen)
	if total > 1<<27 {
		return nil, fmt.Errorf("message of %d bytes: not D-Bus", total)
	}
	msg := make([]byte, total)
	copy(msg, head)
	_, err := io.ReadFull(r, msg[16:])
	return msg, err
}

// field returns the uint32 header field code of a message.
func field(msg []byte, want byte) (uint32, bool) {
	bo := order(msg)
	end := 16 + int(bo.Uint32(msg[12:16]))
	for i := 16; i < end; {
		i = align(i, 8)
		code := msg[i]
		sigLen := int(msg[i+1])
		sig := string(msg[i+2 : i+2+sigLen])
		i += 3 + sigLen
		switch sig {
		case "s", "o":
			i = align(i, 4)
			i += 4 + int(bo.Uint32(msg[i:i+4])) + 1
		case "g":
			i += 1 + int(msg[i]) + 1
		case "u":
			i = align(i, 4)
			if code == want {
				return bo.Uint32(msg[i : i+4]), true
			}
			i += 4
		default:
			return 0, false
		}
	}
	return 0, false
}

// member returns the MEMBER header field (code 3) of a message.
func member(msg []byte) string {
	bo := order(msg)
	end := 16 + int(bo.Uint32(msg[12:16]))
	for i := 16; i < end; {
		i = align(i, 8)
		code := msg[i]
		sigLen := int(msg[i+1])
		sig := string(msg[i+2 : i+2+sigLen])
		i += 3 + sigLen
		switch sig {
		case "s", "o":
			i = align(i, 4)
			n := int(bo.Uint32(msg[i : i+4]))
			if code == 3 {
				return string(msg[i+4 : i+4+n])
			}
			i += 4 + n + 1
		case "g":
			i += 1 + int(msg[i]) + 1
		case "u":
			i = align(i, 4) + 4
		default:
			return "?"
		}
	}
	return "?"
}

func align(n, to int) int { return (n + to - 1) / to * to }

// unixAddress turns a D-Bus address such as "unix:path=/tmp/x,guid=..."
// or "unix:abstract=/tmp/dbus-x" into an address for net.Dial("unix").
func unixAddress(addr string) (string, error) {
	rest, ok := strings.CutPrefix(addr, "unix:")
	if !ok {
		return "", fmt.Errorf("bus address %q: want a unix: address", addr)
	}
	for kv := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "path":
			return v, nil
		case "abstract":
			return "@" + v, nil
		}
	}
	return "", fmt.Errorf("bus address %q: no path or abstract socket", addr)
}
