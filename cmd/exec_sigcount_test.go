package cmd

import (
	"fmt"
	"os"
	"os/signal"
	"time"
)

// sigCountMain is a child for camctl exec: it says "ready", counts the
// SIGINTs it gets until 1 s after the first, prints the count and exits 0.
func sigCountMain() int {
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, os.Interrupt)
	fmt.Println("child ready")
	<-ch
	n := 1
	deadline := time.After(time.Second)
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
