package procfs_test

import (
	"os"
	"testing"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
)

// BenchmarkList lists every namespace on the host as it is. Compare with
// util-linux side by side through examples/lsns/compare.
func BenchmarkList(b *testing.B) {
	for b.Loop() {
		if _, err := procfs.List(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList500 lists with 500 more processes, each in new uts, net, pid
// and ipc namespaces: the scale of the target.
func BenchmarkList500(b *testing.B) {
	startSleepers(b, 500)
	for b.Loop() {
		if _, err := procfs.List(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkList500Hierarchy(b *testing.B) {
	startSleepers(b, 500)
	for b.Loop() {
		if _, err := procfs.List(procfs.WithHierarchy()); err != nil {
			b.Fatal(err)
		}
	}
}

func startSleepers(b *testing.B, n int) {
	b.Helper()
	opts := namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "3600"},
		New: procfs.UTS | procfs.Net | procfs.PID | procfs.IPC}
	if os.Getuid() != 0 {
		opts.New |= procfs.User
		opts.UIDMap = idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}}
	}
	for range n {
		p, err := namespace.Spawn(opts)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { p.Kill(); p.Wait() })
	}
}
