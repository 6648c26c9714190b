package namespace_test

// Attacks on the sandbox options: combinations that the family tests do not
// make, each on every child path.

import (
	"os"
	"testing"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// holdFds opens n descriptors for the rest of the test, as a busy caller
// has: the child's own descriptors then have high numbers.
func holdFds(t *testing.T, n int) {
	t.Helper()
	for range n {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
	}
}

// eachAttackPath runs fn on every child path, with spawn a function that
// starts a program (Spawn, with New as it is; or, for "handle", Handle.Spawn
// into a joined container's user, mount and PID namespaces, forking once
// more), and checks for leaks.
func eachAttackPath(t *testing.T, fn func(t *testing.T, spawn func(namespace.Options) (*namespace.Process, error), handle bool)) {
	t.Helper()
	for _, path := range namespace.ChildPaths {
		for _, handle := range []bool{false, true} {
			name := path
			if handle {
				name += "/handle"
			}
			t.Run(name, func(t *testing.T) {
				skipOwnStackUnderRaceCover(t, path)
				defer namespace.SetChildPath(namespace.SetChildPath(path))
				hostBefore := hostMountinfo(t)
				before := takeCounts(t)
				spawn := namespace.Spawn
				if handle {
					uid, gid := ownMaps()
					c := startWaiting(t, namespace.Options{New: namespace.User | namespace.Mount | namespace.PID,
						UIDMap: uid, GIDMap: gid, SetGroups: idmap.Deny}, "")
					h, err := namespace.Join(c.p.Pid, namespace.User|namespace.Mount|namespace.PID)
					if err != nil {
						t.Fatal(err)
					}
					defer c.finish(t)
					defer h.Close()
					spawn = h.Spawn
				}
				fn(t, spawn, handle)
				if handle {
					return // the container's end is checked by finish
				}
				checkNoLeak(t, before)
				if after := hostMountinfo(t); after != hostBefore {
					t.Errorf("the caller's mounts changed:\nbefore:\n%s\nafter:\n%s", hostBefore, after)
				}
			})
		}
	}
}

// TestAttackRlimitNofileBelowCallerFds sets an RLIMIT_NOFILE that leaves
// the program room for its three descriptors, and more, but lies below the
// caller's descriptor numbers, and passes the caller's standard input as
// it is (descriptor 0, which sits on a target number): the child must
// still put the descriptors in place.
func TestAttackRlimitNofileBelowCallerFds(t *testing.T) {
	holdFds(t, 64)
	eachAttackPath(t, func(t *testing.T, spawn func(namespace.Options) (*namespace.Process, error), handle bool) {
		out, err := os.CreateTemp(t.TempDir(), "out")
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		opts := namespace.Options{Path: "/bin/sh", Args: []string{"sh", "-c", "ulimit -n; echo ok"},
			Stdin: os.Stdin, Stdout: out, Stderr: out,
			Rlimits: []namespace.Rlimit{{Resource: unix.RLIMIT_NOFILE, Soft: 32, Hard: 32}}}
		if !handle {
			opts.New = namespace.User | namespace.Mount
			opts.UIDMap, opts.GIDMap = ownMaps()
			opts.SetGroups = idmap.Deny
		}
		p, err := spawn(opts)
		if err != nil {
			t.Fatal(err)
		}
		st, err := p.Wait()
		b, _ := os.ReadFile(out.Name())
		if err != nil || !st.Success() || string(b) != "32\nok\n" {
			t.Fatalf("%v %v %q", st, err, b)
		}
	})
}
