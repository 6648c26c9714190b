//go:build !race

package namespace_test

const raceEnabled = false
