// Command camctl is a command-line client for the Camunda 8 Orchestration
// Cluster REST API.
package main

import (
	"os"

	"github.com/camctl/camctl/cmd"
)

func main() {
	os.Exit(cmd.Main())
}
