package namespace_test

import (
	"errors"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// rawFDs counts the descriptors of the process, those Do keeps included.
func rawFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// doOnFreshThreadDirs empties Do's kept thread directories (again when the
// test ends), runs an empty Do on h and returns the TID of the thread that
// ran it.
func doOnFreshThreadDirs(t *testing.T, h *namespace.Handle) int {
	t.Helper()
	namespace.DropThreadDirs()
	t.Cleanup(namespace.DropThreadDirs)
	var ran int
	namespace.SetDoTestHook(func() { ran = unix.Gettid() })
	err := h.Do(func() error { return nil })
	namespace.SetDoTestHook(nil)
	if err != nil {
		t.Fatal(err)
	}
	return ran
}

// TestDoKeepsThreadDirs checks that Do keeps the directory of the thread it
// gave back, and no more than MaxThreadDirs of them: one it drops is closed.
func TestDoKeepsThreadDirs(t *testing.T) {
	h := unshareNet(t)
	ran := doOnFreshThreadDirs(t, h)
	if kept := namespace.KeptThreadDirs(); !slices.Equal(kept, []int{ran}) {
		t.Fatalf("after a Do on thread %d, directories kept for %v", ran, kept)
	}
	// Fill the cache with descriptors under TIDs no thread has.
	for i := range namespace.MaxThreadDirs {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		namespace.KeepThreadDir(-1-i, fd)
	}
	if n := len(namespace.KeptThreadDirs()); n != namespace.MaxThreadDirs {
		t.Fatalf("%d directories kept, want the most, %d", n, namespace.MaxThreadDirs)
	}
	before := rawFDs(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for range 50 {
				if err := h.Do(func() error { return nil }); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := len(namespace.KeptThreadDirs()); n != namespace.MaxThreadDirs {
		t.Errorf("%d directories kept after 200 calls, want %d", n, namespace.MaxThreadDirs)
	}
	if after := rawFDs(t); after != before {
		t.Errorf("%d descriptors before 200 calls on a full cache, %d after", before, after)
	}
	checkThreadsHome(t)
}

// endedThreadDir returns a descriptor on the /proc/thread-self/ns of a thread
// that has ended.
func endedThreadDir(t *testing.T) int {
	t.Helper()
	fd, err := -1, error(nil)
	namespace.OnOwnThread(func() bool {
		fd, err = unix.Open("/proc/thread-self/ns", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		return false // end the thread; OnOwnThread waits until it is gone
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	var buf [64]byte
	if _, err := unix.Readlinkat(fd, "net", buf[:]); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("readlink net in an ended thread's directory: %v, want ENOENT", err)
	}
	return fd
}

// TestDoKeptDirOfEndedThread gives Do, as its thread's kept directory, that
// of a thread that ended, as when a thread Do gave back is ended by other
// code and a new one gets its TID. Do must open its own thread's directory
// and enter the namespaces, not fail.
func TestDoKeptDirOfEndedThread(t *testing.T) {
	if !privileged {
		t.Skip("Unshare and Do need CAP_SYS_ADMIN")
	}
	dead := endedThreadDir(t)
	t.Cleanup(namespace.DropThreadDirs)
	for _, kinds := range []namespace.Kind{namespace.Net, namespace.UTS | namespace.IPC, namespace.Mount} {
		t.Run(kinds.String(), func(t *testing.T) {
			h, err := namespace.Unshare(kinds)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			// A first call opens the descriptors on the process's
			// namespaces that Do keeps.
			if err := h.Do(func() error { return nil }); err != nil {
				t.Fatal(err)
			}
			before := takeCounts(t)
			planted := 0
			namespace.SetDoTestHook(func() {
				fd, err := unix.FcntlInt(uintptr(dead), unix.F_DUPFD_CLOEXEC, 0)
				if err == nil {
					planted = unix.Gettid()
					namespace.KeepThreadDir(planted, fd)
				}
			})
			err = h.Do(func() error {
				for k, want := range h.IDs() {
					if in, err := procfs.Stat("/proc/thread-self/ns/" + k.String()); err != nil || in != want {
						t.Errorf("fn ran in %s namespace %v (%v), want the handle's %v", k, in, err, want)
					}
				}
				return nil
			})
			namespace.SetDoTestHook(nil)
			if planted == 0 {
				t.Fatal("no directory planted")
			}
			if err != nil {
				t.Fatalf("Do on a thread whose kept directory is an ended thread's: %v", err)
			}
			checkNoLeak(t, before)
			checkThreadsHome(t)
		})
	}
}
