package namespace_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// TestDoNested runs Do inside Do: the inner fn is in the inner handle's
// namespaces and, for a kind only the outer handle holds, in the process's;
// the outer fn is still in the outer handle's after the inner Do.
func TestDoNested(t *testing.T) {
	if !privileged {
		t.Skip("Do needs CAP_SYS_ADMIN")
	}
	outer, err := namespace.Unshare(namespace.Net | namespace.UTS)
	if err != nil {
		t.Fatal(err)
	}
	defer outer.Close()
	inner, err := namespace.Unshare(namespace.UTS)
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	for h, name := range map[*namespace.Handle]string{outer: "outer", inner: "inner"} {
		if err := h.Do(func() error { return unix.Sethostname([]byte(name)) }); err != nil {
			t.Fatal(err)
		}
	}
	process, err := procfs.Namespaces(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	threadNet := func() procfs.ID {
		id, err := procfs.Stat("/proc/thread-self/ns/net")
		if err != nil {
			t.Error(err)
		}
		return id
	}
	err = outer.Do(func() error {
		err := inner.Do(func() error {
			if got := hostname(); got != "inner" {
				t.Errorf("inner fn: host name %q, want the inner handle's", got)
			}
			if got := threadNet(); got != process[namespace.Net] {
				t.Errorf("inner fn: net %v, want the process's %v (the outer handle's is %v)", got, process[namespace.Net], outer.IDs()[namespace.Net])
			}
			return nil
		})
		if err != nil {
			return err
		}
		if got := hostname(); got != "outer" {
			t.Errorf("outer fn after the inner Do: host name %q", got)
		}
		if got := threadNet(); got != outer.IDs()[namespace.Net] {
			t.Errorf("outer fn after the inner Do: net %v, want the outer handle's %v", got, outer.IDs()[namespace.Net])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkThreadsHome(t)
}

// TestDoEPERMHint: an unprivileged Do is refused, and the error names what
// works, which then does.
func TestDoEPERMHint(t *testing.T) {
	if privileged {
		t.Skip("root may enter namespaces from a thread; the run as uid 65534 checks the hint")
	}
	uidMap, gidMap := ownMaps()
	target, err := namespace.Spawn(namespace.Options{
		Path: "/bin/sleep", Args: []string{"sleep", "60"},
		New: namespace.User | namespace.UTS, UIDMap: uidMap, GIDMap: gidMap, Hostname: "hinted",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer target.Wait()
	defer target.Kill()
	h, err := namespace.Join(target.Pid, namespace.UTS)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	err = h.Do(func() error { return nil })
	t.Log(err)
	want := "use Handle.Spawn with User among the handle's kinds, as Join(pid, kinds|namespace.User) gives"
	if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), want) {
		t.Fatalf("unprivileged Do = %v, want EPERM with %q", err, want)
	}
	both, err := namespace.Join(target.Pid, namespace.UTS|namespace.User)
	if err != nil {
		t.Fatal(err)
	}
	defer both.Close()
	if lines := spawnIn(t, both, namespace.Options{}, "hostname"); lines[0] != "hinted" {
		t.Errorf("Handle.Spawn as the hint says: host name %q, want the target's", lines[0])
	}
}
