package namespace_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// noPanic runs fn and turns a panic into a test error.
func noPanic(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("%s panicked: %v", what, p)
		}
	}()
	fn()
}

// TestZeroHandle uses a Handle that no constructor made, zero or nil: every
// method that would act refuses with os.ErrInvalid, runs nothing in the
// caller's namespaces, and none panics.
func TestZeroHandle(t *testing.T) {
	before := takeCounts(t)
	for _, c := range []struct {
		name string
		h    *namespace.Handle
		str  string
	}{{"zero", &namespace.Handle{}, ""}, {"nil", nil, "<nil>"}} {
		t.Run(c.name, func(t *testing.T) {
			noPanic(t, "Do", func() {
				called := false
				err := c.h.Do(func() error { called = true; return nil })
				if called || !errors.Is(err, os.ErrInvalid) {
					t.Errorf("Do = %v (fn called: %v), want os.ErrInvalid and no call", err, called)
				}
			})
			noPanic(t, "Spawn", func() {
				p, err := c.h.Spawn(namespace.Options{Path: "/bin/true"})
				if err == nil {
					p.Wait()
				}
				if !errors.Is(err, os.ErrInvalid) || !strings.HasPrefix(err.Error(), "spawn /bin/true: ") {
					t.Errorf("Spawn = %v, want spawn /bin/true: ... os.ErrInvalid", err)
				}
			})
			noPanic(t, "Bind", func() {
				path := filepath.Join(t.TempDir(), "dir", "ns")
				err := c.h.Bind(namespace.Net, path)
				if !errors.Is(err, os.ErrInvalid) {
					t.Errorf("Bind = %v, want os.ErrInvalid", err)
				}
				if _, err := os.Lstat(filepath.Dir(path)); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("Bind left %s behind: %v", filepath.Dir(path), err)
				}
			})
			noPanic(t, "Close", func() {
				if err := c.h.Close(); !errors.Is(err, os.ErrInvalid) {
					t.Errorf("Close = %v, want os.ErrInvalid", err)
				}
			})
			noPanic(t, "Kinds, IDs, String", func() {
				if k, ids, s := c.h.Kinds(), c.h.IDs(), c.h.String(); k != 0 || ids == nil || len(ids) != 0 || s != c.str {
					t.Errorf("Kinds %v, IDs %v, String %q; want 0, an empty map, %q", k, ids, s, c.str)
				}
			})
		})
	}
	checkNoLeak(t, before)
}

// TestJoinNotThere: a process that is not there to join gives one kind of
// error, os.ErrNotExist, whether the PID was never used or the process
// exited; one that exited also matches os.ErrProcessDone.
func TestJoinNotThere(t *testing.T) {
	before := takeCounts(t)
	_, err := namespace.Join(1<<22+1, namespace.Net) // above the largest pid_max
	if !errors.Is(err, os.ErrNotExist) || !errors.Is(err, unix.ESRCH) || errors.Is(err, os.ErrProcessDone) {
		t.Errorf("Join(no such PID) = %v, want os.ErrNotExist and ESRCH, not os.ErrProcessDone", err)
	}

	sleeper := func() *namespace.Process {
		p, err := namespace.Spawn(namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "60"}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	done := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, os.ErrNotExist) || !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("Join of %s = %v, want os.ErrNotExist and os.ErrProcessDone", what, err)
		}
	}
	// A zombie.
	p := sleeper()
	p.Kill()
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, p.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	_, err = namespace.Join(p.Pid, namespace.Net|namespace.UTS)
	done("a zombie", err)
	p.Wait()

	// A process that exits while Join opens its namespaces: as a zombie,
	// and reaped.
	for _, reap := range []bool{false, true} {
		p := sleeper()
		namespace.SetJoinTestHook(func(pid int) {
			p.Kill()
			if reap {
				p.Wait()
				return
			}
			var info unix.Siginfo
			unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		})
		_, err := namespace.Join(p.Pid, namespace.Net)
		namespace.SetJoinTestHook(nil)
		done(fmt.Sprintf("a process that exits during Join (reaped: %v)", reap), err)
		p.Wait()
	}
	checkNoLeak(t, before)
}
