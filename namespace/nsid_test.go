package namespace_test

import (
	"slices"
	"testing"

	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
)

// TestIdentitiesNeverRepeat creates and destroys namespaces one at a time,
// reads each one's identity two ways while it lives (they must match), and
// compares every identity with every other: on a kernel with namespace IDs
// (Linux 6.18) none matches, although the kernel gives the inode numbers of
// ended namespaces to new ones, so that {device, inode} alone matches many.
//
// As root it makes 3,000 UTS and 3,000 network namespaces with Unshare and
// reads them through the handle and from inside (Do); unprivileged, it makes
// UTS namespaces (3,000, or 300 with -short) for processes it spawns, and reads
// them through Join and from /proc/PID/ns.
func TestIdentitiesNeverRepeat(t *testing.T) {
	n := 3000
	if !privileged && testing.Short() {
		n = 300
	}
	kinds := []namespace.Kind{namespace.UTS}
	if privileged {
		kinds = append(kinds, namespace.Net)
	}
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			newAndGone(t, kind) // Do's first entry opens what it keeps
			before := takeCounts(t)
			ids := make([]procfs.ID, 0, n)
			for range n {
				a, b := newAndGone(t, kind)
				if a != b {
					t.Fatalf("two readings of one %s namespace differ: %v and %v", kind, a, b)
				}
				ids = append(ids, a)
			}
			byID := map[procfs.ID]int{}
			byIno := map[procfs.ID]int{}
			falseID, falseIno := 0, 0
			for _, id := range ids {
				if byID[id]++; byID[id] > 1 {
					falseID++
				}
				ino := procfs.ID{Dev: id.Dev, Ino: id.Ino}
				if byIno[ino]++; byIno[ino] > 1 {
					falseIno++
				}
			}
			t.Logf("%d %s namespaces: %d matched an earlier one by {dev, ino}, %d by the whole ID (NSID %v)",
				n, kind, falseIno, falseID, procfs.HaveNSID())
			if !procfs.HaveNSID() {
				t.Skip("no namespace IDs before Linux 6.18: identities of ended namespaces can repeat")
			}
			if falseID != 0 {
				t.Errorf("%d of %d identities matched a different, earlier namespace", falseID, n)
			}
			if falseIno == 0 {
				t.Errorf("no inode number was reused in %d namespaces: the test shows nothing", n)
			}
			checkNoLeak(t, before)
		})
	}
}

// newAndGone makes a namespace of kind, reads its identity two ways, and
// ends it.
func newAndGone(t *testing.T, kind namespace.Kind) (a, b procfs.ID) {
	t.Helper()
	if privileged {
		h, err := namespace.Unshare(kind)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		a = h.IDs()[kind]
		if err := h.Do(func() error {
			in, err := procfs.ThreadNamespaces()
			b = in[kind]
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return a, b
	}
	p, stop := holder(t, kind)
	defer stop()
	h, err := namespace.Join(p.Pid, kind)
	if err != nil {
		t.Fatal(err)
	}
	a = h.IDs()[kind]
	h.Close()
	b, err = procfs.Lookup(p.Pid, kind)
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// TestHandleOfOwnNamespaces: a handle on the process's own namespaces, with
// NSIDs, is recognised where Do and Spawn compare it with the thread's links
// (which give inode numbers only): Do skips every kind, user, time and mount
// included, and gives its thread back; Spawn enters nothing, which for the
// user namespace would fail (setns into one's own user namespace is EINVAL).
func TestHandleOfOwnNamespaces(t *testing.T) {
	joinMethods(t, func(t *testing.T) {
		h, err := namespace.Current(namespace.All)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		if privileged {
			ran := doOnFreshThreadDirs(t, h)
			// A thread that entered the mount namespace would have
			// been discarded, not kept.
			if kept := namespace.KeptThreadDirs(); !slices.Equal(kept, []int{ran}) {
				t.Errorf("after a Do in the process's own namespaces on thread %d, kept %v: it entered something", ran, kept)
			}
		}
		if lines := spawnIn(t, h, namespace.Options{}, "echo ran"); lines[0] != "ran" {
			t.Errorf("Handle.Spawn: %q", lines)
		}
	})
}
