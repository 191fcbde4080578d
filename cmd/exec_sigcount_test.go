package cmd

import (
	"fmt"
	"os"
	"os/signal"
	"time"
)

// sigCountMain is a child for camctl exec: it says "ready", counts the
// SIGINTs it gets until 300 ms after the first (a second copy from
// camctl would come within milliseconds), prints the count and exits 0.
func sigCountMain() int {
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, os.Interrupt)
	fmt.Println("child ready")
	<-ch
	n := 1
	deadline := time.After(300 * time.Millisecond)
	for {
		select {
		case <-ch:
			n++
		case <-deadline:
			fmt.Printf("child got %d SIGINT\n", n)
			return 0
		}
	}
}
