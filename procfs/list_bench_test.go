package procfs_test

import (
	"testing"

	"github.com/nsgo/nsgo/procfs"
)

// BenchmarkList lists every namespace on the host; the scan grows with the
// number of processes and namespaces. Compare with util-linux through
// examples/lsns/compare.sh.
func BenchmarkList(b *testing.B) {
	for b.Loop() {
		if _, err := procfs.List(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkListNet(b *testing.B) {
	for b.Loop() {
		if _, err := procfs.List(procfs.OfKind(procfs.Net)); err != nil {
			b.Fatal(err)
		}
	}
}
