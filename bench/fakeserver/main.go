// Command fakeserver serves the fake Camunda REST API of
// internal/fakecamunda on loopback, for bench/run.sh.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/camctl/camctl/internal/fakecamunda"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	basic := flag.String("basic", "", "require HTTP Basic USER:PASSWORD")
	flag.Parse()

	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		log.Fatalf("fakeserver listens on loopback only, not %q", *addr)
	}
	fake := fakecamunda.New()
	if *basic != "" {
		user, pass, ok := strings.Cut(*basic, ":")
		if !ok {
			log.Fatal("-basic wants USER:PASSWORD")
		}
		fake.RequireBasic(user, pass)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// The first line of stdout is the base URL; the script reads it.
	fmt.Printf("http://%s\n", ln.Addr())
	os.Stdout.Sync()
	log.Fatal(http.Serve(ln, fake))
}
