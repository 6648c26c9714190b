//go:build race

package namespace_test

const raceEnabled = true
