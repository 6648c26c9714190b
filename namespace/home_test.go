package namespace_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// threadAlive reports whether thread tid of this process still exists.
func threadAlive(t *testing.T, tid int) bool {
	t.Helper()
	_, err := os.Stat("/proc/self/task/" + strconv.Itoa(tid))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

// TestDoEndsThreadFoundAway gives Do a thread that other code moved into a
// new namespace and gave back to the scheduler, as a goroutine that locks,
// calls setns and unlocks does. Do must end that thread, not put it back
// where it found it: of a kind Do does not enter (uts) and of the kind it
// enters (net).
func TestDoEndsThreadFoundAway(t *testing.T) {
	h := unshareNet(t)
	want := h.IDs()[namespace.Net]
	for _, c := range []struct {
		name  string
		flags int
	}{{"uts", unix.CLONE_NEWUTS}, {"net", unix.CLONE_NEWNET}} {
		t.Run(c.name, func(t *testing.T) {
			tid, moved := 0, error(nil)
			namespace.SetDoTestHook(func() {
				tid = unix.Gettid()
				moved = unix.Unshare(c.flags)
			})
			err := h.Do(func() error {
				if in, err := procfs.Stat("/proc/thread-self/ns/net"); err != nil || in != want {
					t.Errorf("fn ran in net namespace %v (%v), want the handle's %v", in, err, want)
				}
				return nil
			})
			namespace.SetDoTestHook(nil)
			if moved != nil {
				t.Fatalf("unshare %s in the hook: %v", c.name, moved)
			}
			if err != nil {
				t.Fatal(err)
			}
			if threadAlive(t, tid) {
				t.Errorf("thread %d, found in a new %s namespace, went back to the scheduler", tid, c.name)
			}
			checkThreadsHome(t)
			checkLinksHome(t)
		})
	}
}

// TestDoFollowsProcessMove moves every thread of the process into another
// network namespace, as syscall.AllThreadsSyscall can, and back. Do must take
// the new namespace as home: its threads go back to the scheduler (they are
// not ended as if found away), and no thread is left in the old home.
func TestDoFollowsProcessMove(t *testing.T) {
	h := unshareNet(t)
	elsewhere := unshareNet(t)
	origin, err := os.Open("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { origin.Close() }) // after the move back below
	var away *os.File
	if err := elsewhere.Do(func() (err error) {
		away, err = os.Open("/proc/thread-self/ns/net")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { away.Close() })
	// Do once first, so that the process's namespaces are read before the
	// move and are stale after it.
	if err := h.Do(func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	moveAll := func(f *os.File) syscall.Errno {
		_, _, e := syscall.AllThreadsSyscall(unix.SYS_SETNS, f.Fd(), unix.CLONE_NEWNET, 0)
		return e
	}
	if e := moveAll(away); e == syscall.ENOTSUP {
		rerunWithoutCgo(t)
		return
	} else if e != 0 {
		t.Fatalf("move every thread: %v", e)
	}
	t.Cleanup(func() {
		if e := moveAll(origin); e != 0 {
			panic("cannot move the test process back to its network namespace: " + e.Error())
		}
	})
	for _, step := range []struct {
		name string
		to   *os.File
	}{{"moved", nil}, {"moved back", origin}} {
		if step.to != nil {
			if e := moveAll(step.to); e != 0 {
				t.Fatalf("%s: move every thread: %v", step.name, e)
			}
		}
		for i := range 3 {
			tid := 0
			if err := h.Do(func() error { tid = unix.Gettid(); return nil }); err != nil {
				t.Fatal(err)
			}
			if !threadAlive(t, tid) {
				t.Errorf("%s, call %d: Do ended its thread %d, which it found in the process's namespaces", step.name, i, tid)
			}
		}
		checkThreadsHome(t)
		checkLinksHome(t)
	}
}

// rerunWithoutCgo runs the calling test in a test binary built with
// CGO_ENABLED=0: syscall.AllThreadsSyscall refuses to work in a process with
// cgo (ENOTSUP), and the package links it in through os/user unless cgo is
// off.
func rerunWithoutCgo(t *testing.T) {
	t.Helper()
	if os.Getenv("NSGO_TEST_NO_CGO") != "" {
		t.Fatal("syscall.AllThreadsSyscall: ENOTSUP in the binary built with CGO_ENABLED=0")
	}
	gocmd, err := exec.LookPath("go") // go test puts its own first in PATH
	if err != nil {
		t.Skipf("cgo is linked in, so syscall.AllThreadsSyscall is not supported, and there is no go command to build without it: %v", err)
	}
	exe := filepath.Join(t.TempDir(), "namespace.test")
	cmd := exec.Command(gocmd, "test", "-c", "-o", exe, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go test -c: %v\n%s", err, out)
	}
	cmd = exec.Command(exe, "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "NSGO_TEST_NO_CGO=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("%s in a binary built with CGO_ENABLED=0: %v\n%s", t.Name(), err, out)
	}
	t.Logf("passed in a binary built with CGO_ENABLED=0")
}
