//go:build !race

package namespace

// raceEnabled says whether the race detector is on: see choosePath.
const raceEnabled = false
