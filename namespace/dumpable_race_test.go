package namespace_test

import (
	"fmt"
	"testing"

	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// TestDumpableUserChangeDuringSpawn: the caller makes itself not
// dumpable (PR_SET_DUMPABLE 0, as a program does before it reads a
// secret) while a spawn whose child shares its memory is under way. The
// caller's own choice, made after the spawn began, must stand once the
// spawn returns; the release puts back the flag saved before the clone.
// OnClone runs in the window (the child is cloned, on its own stack, and
// waits), so it stands for any goroutine of the caller.
func TestDumpableUserChangeDuringSpawn(t *testing.T) {
	if !privileged {
		t.Skip("a caller that is not dumpable cannot write its children's ID maps without privileges")
	}
	defer unix.PrctlRetInt(unix.PR_SET_DUMPABLE, 1, 0, 0, 0)
	uidMap, gidMap := ownMaps()
	for _, path := range []string{"", "own stack"} {
		t.Run(fmt.Sprintf("%q", path), func(t *testing.T) {
			skipOwnStackUnderRaceCover(t, path)
			defer namespace.SetChildPath(namespace.SetChildPath(path))
			attackSetDump(t, 1)
			p, err := namespace.Spawn(namespace.Options{Path: "/bin/true", New: namespace.User,
				UIDMap: uidMap, GIDMap: gidMap,
				OnClone: func(int) error {
					// Another goroutine of the caller, say.
					_, err := unix.PrctlRetInt(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
					return err
				}})
			got := attackGetDump()
			attackSetDump(t, 1)
			if err != nil {
				t.Fatal(err)
			}
			p.Wait()
			if got != 0 {
				t.Errorf("the caller made itself not dumpable during a spawn; after it PR_GET_DUMPABLE is %d", got)
			}
		})
	}
}
