package namespace_test

import (
	"os"
	"testing"

	"github.com/nsgo/nsgo/namespace"
)

// BenchmarkSpawn starts /bin/true and waits for it, per set of new kinds,
// with and without a user namespace and its maps. examples/bench compares
// the same with os/exec and C side by side.
func BenchmarkSpawn(b *testing.B) {
	uidMap, gidMap := rootMaps()
	for _, bc := range []struct {
		name string
		opts namespace.Options
		root bool // needs root: new kinds without a user namespace
	}{
		{"none", namespace.Options{}, false},
		{"uts|pid|ipc|mnt", namespace.Options{New: namespace.UTS | namespace.PID | namespace.IPC | namespace.Mount}, true},
		{"user+maps", namespace.Options{New: namespace.User, UIDMap: uidMap, GIDMap: gidMap}, false},
		{"uts|pid|ipc|mnt|user+maps", namespace.Options{New: namespace.UTS | namespace.PID | namespace.IPC | namespace.Mount | namespace.User, UIDMap: uidMap, GIDMap: gidMap}, false},
		{"all+maps", namespace.Options{New: namespace.All, UIDMap: uidMap, GIDMap: gidMap}, false},
		// Init's cost: the same with a PID 1 that forks the program.
		{"pid|user+maps", namespace.Options{New: namespace.PID | namespace.User, UIDMap: uidMap, GIDMap: gidMap}, false},
		{"pid|user+maps+Init", namespace.Options{New: namespace.PID | namespace.User, UIDMap: uidMap, GIDMap: gidMap, Init: true}, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if bc.root && !privileged {
				b.Skip("new namespaces without a user namespace need root")
			}
			opts := bc.opts
			opts.Path = "/bin/true"
			for b.Loop() {
				p, err := namespace.Spawn(opts)
				if err != nil {
					b.Fatal(err)
				}
				if st, err := p.Wait(); err != nil || !st.Success() {
					b.Fatal(st, err)
				}
			}
		})
	}
}

// BenchmarkHandleSpawn starts /bin/true in all namespaces of a container.
func BenchmarkHandleSpawn(b *testing.B) {
	h := benchContainer(b)
	for b.Loop() {
		p, err := h.Spawn(namespace.Options{Path: "/bin/true"})
		if err != nil {
			b.Fatal(err)
		}
		if st, err := p.Wait(); err != nil || !st.Success() {
			b.Fatal(st, err)
		}
	}
}

// BenchmarkJoin pins all namespaces of a process and releases them.
func BenchmarkJoin(b *testing.B) {
	pid := os.Getpid()
	for b.Loop() {
		h, err := namespace.Join(pid, namespace.All)
		if err != nil {
			b.Fatal(err)
		}
		h.Close()
	}
}

// BenchmarkDo enters a network namespace and back. Compare with a raw locked
// thread setns round trip and CNI's NetNS.Do in examples/bench.
func BenchmarkDo(b *testing.B) {
	h := unshareNet(b)
	for b.Loop() {
		if err := h.Do(func() error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// benchContainer starts a sleeping container with every kind but time and
// returns a handle on its namespaces, released when the benchmark ends.
func benchContainer(b *testing.B) *namespace.Handle {
	b.Helper()
	uidMap, gidMap := rootMaps()
	p, err := namespace.Spawn(namespace.Options{
		Path: "/bin/sleep", Args: []string{"sleep", "3600"},
		New: namespace.All &^ namespace.Time, UIDMap: uidMap, GIDMap: gidMap, MountProc: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	h, err := namespace.Join(p.Pid, namespace.All)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close(); p.Kill(); p.Wait() })
	return h
}
