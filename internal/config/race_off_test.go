//go:build !race

package config_test

// raceEnabled: see race_on_test.go.
const raceEnabled = false
