//go:build race

package cmd

// raceEnabled: the race detector slows code 5-10 times and multiplies its
// memory, so time and memory bounds are scaled or only logged.
const raceEnabled = true
