// Package fakenet stands in for the internet in tests: an HTTP proxy that
// camctl reaches through HTTPS_PROXY and HTTP_PROXY, as it would reach a
// corporate proxy. For every host name registered with Handle it
// terminates TLS with a certificate of the test CA (which camctl trusts
// through SSL_CERT_FILE) and hands the requests to that host's handler.
// Documented commands with real-looking addresses, such as
// https://bru-2.zeebe.camunda.io/<cluster-id>, thus run unchanged against
// local fakes, and nothing but loopback is ever used: an unknown host gets
// 502 from the proxy, never a connection out.
package fakenet

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/camctl/camctl/internal/testutil/pkitest"
)

// Net is the proxy and its hosts.
type Net struct {
	// URL is the proxy's address, for HTTPS_PROXY and HTTP_PROXY.
	URL string
	// CAFile is the CA that signs every host's certificate, for
	// SSL_CERT_FILE.
	CAFile string

	t     testing.TB
	pki   *pkitest.PKI
	mu    sync.Mutex
	hosts map[string]*host
	inner *http.Server
	conns *connListener
}

type host struct {
	handler http.Handler
	cert    tls.Certificate
	mtls    bool
}

// New starts the proxy; it stops when the test ends.
func New(t testing.TB, pki *pkitest.PKI) *Net {
	n := &Net{CAFile: pki.CACert, t: t, pki: pki, hosts: map[string]*host{}, conns: newConnListener()}
	n.inner = &http.Server{Handler: http.HandlerFunc(n.serveTLS)}
	go func() { _ = n.inner.Serve(n.conns) }()
	proxy := httptest.NewServer(http.HandlerFunc(n.serveProxy))
	n.URL = proxy.URL
	t.Cleanup(func() {
		proxy.Close()
		_ = n.inner.Close()
	})
	return n
}

// Env returns the variables that send camctl through the proxy and make
// it trust the hosts' certificates.
func (n *Net) Env() map[string]string {
	return map[string]string{
		"HTTPS_PROXY":   n.URL,
		"HTTP_PROXY":    n.URL,
		"NO_PROXY":      "",
		"SSL_CERT_FILE": n.CAFile,
		"SSL_CERT_DIR":  "",
	}
}

// Transport reaches the hosts as camctl does with Env: through the proxy,
// trusting the test CA.
func (n *Net) Transport() http.RoundTripper {
	roots := x509.NewCertPool()
	if pem, err := os.ReadFile(n.CAFile); err == nil {
		roots.AppendCertsFromPEM(pem)
	}
	proxy, _ := url.Parse(n.URL)
	return &http.Transport{Proxy: http.ProxyURL(proxy), TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
}

// Handle serves name (a host name without port, over http and https)
// with h.
func (n *Net) Handle(name string, h http.Handler) { n.add(name, h, false) }

// HandleMTLS serves name over https with h, and demands a client
// certificate signed by the test CA, as an mTLS ingress does.
func (n *Net) HandleMTLS(name string, h http.Handler) { n.add(name, h, true) }

func (n *Net) add(name string, h http.Handler, mtls bool) {
	// The certificate is made here, on the test's goroutine, because
	// pkitest fails the test on error.
	cert := n.pki.IssueServerCert(n.t, name)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hosts[name] = &host{handler: h, cert: cert, mtls: mtls}
}

func (n *Net) lookup(hostport string) *host {
	name := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		name = h
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hosts[name]
}

// serveProxy answers CONNECT by handing the tunnel to the TLS server, and
// plain-HTTP proxy requests by calling the host's handler directly.
func (n *Net) serveProxy(w http.ResponseWriter, r *http.Request) {
	h := n.lookup(r.Host)
	if h == nil {
		http.Error(w, "fakenet: no such host "+r.Host, http.StatusBadGateway)
		return
	}
	if r.Method != http.MethodConnect {
		if h.mtls {
			// An mTLS ingress has no plain-http side: a test that
			// reaches it without TLS must fail, as it would for real.
			http.Error(w, "fakenet: "+r.Host+" speaks only https with a client certificate", http.StatusBadGateway)
			return
		}
		h.handler.ServeHTTP(w, r)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "fakenet: cannot hijack", http.StatusInternalServerError)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		_ = conn.Close()
		return
	}
	n.conns.push(tls.Server(conn, &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			h := n.lookup(hello.ServerName)
			if h == nil {
				return nil, errors.New("fakenet: no such host " + hello.ServerName)
			}
			cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{h.cert}}
			if h.mtls {
				cfg.ClientAuth = tls.RequireAndVerifyClientCert
				cfg.ClientCAs = n.pki.CAPool()
			}
			return cfg, nil
		},
	}))
}

func (n *Net) serveTLS(w http.ResponseWriter, r *http.Request) {
	h := n.lookup(r.TLS.ServerName)
	if h == nil {
		http.Error(w, "fakenet: no such host "+r.TLS.ServerName, http.StatusBadGateway)
		return
	}
	h.handler.ServeHTTP(w, r)
}

// connListener is a net.Listener whose connections are the proxy's
// tunnels, so that one http.Server serves all of them.
type connListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnListener() *connListener {
	return &connListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *connListener) push(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		_ = c.Close()
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
