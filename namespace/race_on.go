//go:build race

package namespace

// raceBuild says whether the race detector is on: then every child is a
// copy (see choosePath).
const raceBuild = true
