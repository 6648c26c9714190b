package namespace_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// TestSpawnKeepsDumpable: a spawn does not change the caller's own
// process: the kernel resets the dumpable flag of the memory (mm) of a
// task whose credentials change, here to IDs mapped to other host IDs, and
// a child that shares the caller's memory (CLONE_VM) shares that flag.
func TestSpawnKeepsDumpable(t *testing.T) {
	if !privileged {
		t.Skip("needs maps of other IDs than the caller's own")
	}
	uidMap, gidMap := rootMaps()
	for _, path := range []string{"", "own stack", "copy"} {
		for _, init := range []bool{false, true} {
			t.Run(fmt.Sprintf("%q/Init=%v", path, init), func(t *testing.T) {
				skipOwnStackUnderRaceCover(t, path)
				defer namespace.SetChildPath(namespace.SetChildPath(path))
				if _, err := unix.PrctlRetInt(unix.PR_SET_DUMPABLE, 1, 0, 0, 0); err != nil {
					t.Fatal(err)
				}
				p, err := namespace.Spawn(namespace.Options{Path: "/bin/true", New: namespace.User | namespace.PID,
					UIDMap: uidMap, GIDMap: gidMap, Init: init})
				if err != nil {
					if strings.Contains(err.Error(), ": test: ") {
						t.Skip(err)
					}
					t.Fatal(err)
				}
				if st, err := p.Wait(); err != nil || !st.Success() {
					t.Fatal(st, err)
				}
				d, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
				unix.PrctlRetInt(unix.PR_SET_DUMPABLE, 1, 0, 0, 0)
				if d != 1 {
					t.Errorf("the caller is not dumpable any more after a spawn (PR_GET_DUMPABLE %d)", d)
				}
			})
		}
	}
}

// TestSpawnKeepsNotDumpable: a caller that made itself not dumpable
// (so that processes of its user cannot ptrace it or read its memory)
// must stay so after a spawn; DisableUserNamespaces' child sets
// PR_SET_DUMPABLE 1 for itself, which with CLONE_VM is the caller's memory's
// flag too.
func TestSpawnKeepsNotDumpable(t *testing.T) {
	if !privileged {
		// Its children's memory is not dumpable either, so the kernel
		// gives their /proc/PID files to root: no uid_map to write.
		t.Skip("a caller that is not dumpable cannot write its children's ID maps without privileges")
	}
	uidMap, gidMap := ownMaps()
	for _, path := range []string{"", "own stack", "copy"} {
		for _, init := range []bool{false, true} {
			t.Run(fmt.Sprintf("%q/Init=%v", path, init), func(t *testing.T) {
				skipOwnStackUnderRaceCover(t, path)
				defer namespace.SetChildPath(namespace.SetChildPath(path))
				if _, err := unix.PrctlRetInt(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
					t.Fatal(err)
				}
				defer unix.PrctlRetInt(unix.PR_SET_DUMPABLE, 1, 0, 0, 0)
				p, err := namespace.Spawn(namespace.Options{Path: "/bin/true", New: namespace.User | namespace.PID,
					UIDMap: uidMap, GIDMap: gidMap, Init: init, DisableUserNamespaces: true})
				if err != nil {
					if strings.Contains(err.Error(), ": test: ") {
						t.Skip(err)
					}
					t.Fatal(err)
				}
				if st, err := p.Wait(); err != nil || !st.Success() {
					t.Fatal(st, err)
				}
				if d, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0); d != 0 {
					t.Errorf("the caller made itself not dumpable, and is dumpable after a spawn (PR_GET_DUMPABLE %d)", d)
				}
			})
		}
	}
}
