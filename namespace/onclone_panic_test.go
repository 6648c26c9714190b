package namespace_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"

	"github.com/nsgo/nsgo/namespace"
)

// TestOnClonePanic: OnClone panics and the caller recovers. Nothing
// should be left (process waiting on the sync pipe, descriptors).
func TestOnClonePanic(t *testing.T) {
	tpid := unshareTarget(t)
	for _, handle := range []bool{true, false} {
		t.Run(fmt.Sprintf("handle %v", handle), func(t *testing.T) {
			before := takeCounts(t)
			o := namespace.Options{New: namespace.PID | namespace.Net, Path: "/bin/true", OnClone: func(int) error { panic("boom") }}
			func() {
				defer func() { recover() }()
				if handle {
					h, err := namespace.Join(tpid, namespace.User|namespace.PID|namespace.Mount)
					if err != nil {
						t.Fatal(err)
					}
					defer h.Close()
					h.Spawn(o)
				} else {
					o.New |= namespace.User
					namespace.Spawn(o)
				}
			}()
			checkNoLeak(t, before)
		})
	}
}

// TestOnCloneContextCancel: SpawnContext with OnClone that cancels
// the context; and a Current handle with nothing to join.
func TestOnCloneContextCancel(t *testing.T) {
	tpid := unshareTarget(t)
	before := takeCounts(t)
	h, err := namespace.Join(tpid, namespace.User|namespace.PID|namespace.Mount)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p, err := h.SpawnContext(ctx, namespace.Options{New: namespace.PID, Init: true, Path: "/bin/sleep", Args: []string{"sleep", "100"},
		OnClone: func(int) error { cancel(); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := p.Wait()
	if st.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("status %v", st)
	}
	h.Close()
	cur, err := namespace.Current(namespace.All)
	if err != nil {
		t.Fatal(err)
	}
	var got int
	p, err = cur.Spawn(namespace.Options{Path: "/bin/true", OnClone: func(pid int) error { got = pid; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if got != p.Pid {
		t.Errorf("hook %d Pid %d", got, p.Pid)
	}
	p.Wait()
	cur.Close()
	checkNoLeak(t, before)
}
