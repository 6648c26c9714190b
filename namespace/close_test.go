package namespace_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// TestCloseDuringDo closes a handle from another goroutine while Do's fn
// runs, then has fn use the handle again: the inner call must fail with
// os.ErrClosed, not wait for Close, which waits for Do.
func TestCloseDuringDo(t *testing.T) {
	if !privileged {
		t.Skip("Unshare and Do need CAP_SYS_ADMIN")
	}
	// Not unshareNet: its cleanup's Close would wait for ever after a
	// deadlock, and the test must fail, not hang.
	h, err := namespace.Unshare(namespace.Net)
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	done := make(chan error, 1)
	go func() {
		done <- h.Do(func() error {
			go func() { closed <- h.Close() }()
			time.Sleep(100 * time.Millisecond) // Close is waiting now
			if _, err := h.Spawn(namespace.Options{Path: "/bin/true"}); !errors.Is(err, os.ErrClosed) {
				return err
			}
			return h.Do(func() error { return nil })
		})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("inner Do: %v, want os.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("deadlock: Do did not return within 10s")
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}

// isOpen reports whether descriptor fd is open in the test process.
func isOpen(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}

// TestJoinCloseOnlyItsOwn joins six kinds of a process, through the pidfd
// and under /proc, once with the caller's descriptor table full below (so
// the pidfd and the six namespaces take seven numbers in a row, which Close
// releases with one close_range) and once with a descriptor of the caller's
// among them: Close closes the handle's seven and no other, neither the
// caller's descriptor in between nor the ones right below and above.
func TestJoinCloseOnlyItsOwn(t *testing.T) {
	p, err := namespace.Spawn(namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "60"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { p.Kill(); p.Wait() }()
	for _, viaProc := range []bool{false, true} {
		for _, hole := range []bool{false, true} {
			old := namespace.SetJoinViaProc(viaProc)
			before := takeCounts(t)
			closeHoles := fillFdHoles(t)
			below, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			mine := -1
			if hole {
				// A free number, then one of the caller's: Join's
				// descriptors take the free one and go on above it.
				free, _ := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
				mine, _ = unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
				unix.Close(free)
			}
			h, err := namespace.Join(p.Pid, sixKinds)
			namespace.SetJoinViaProc(old)
			if err != nil {
				t.Fatal(err)
			}
			above, _ := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err := h.Close(); err != nil {
				t.Errorf("via /proc %v, hole %v: Close: %v", viaProc, hole, err)
			}
			for _, fd := range []int{below, mine, above} {
				if fd >= 0 && !isOpen(fd) {
					t.Errorf("via /proc %v, hole %v: Close closed descriptor %d, not the handle's (below %d, between %d, above %d)", viaProc, hole, fd, below, mine, above)
				}
				unix.Close(fd)
			}
			closeHoles()
			checkNoLeak(t, before)
		}
	}
}

// TestJoinIdentitiesOnDemand: Join reads no identity; the first IDs (or
// Ref, Do, Spawn) reads them from the descriptors, which name the joined
// namespaces whatever the process does later, and the handle keeps them
// across Close. A handle closed before any read has none: IDs is empty and
// Ref fails with os.ErrClosed.
func TestJoinIdentitiesOnDemand(t *testing.T) {
	uid, gid := ownMaps()
	for _, viaProc := range []bool{false, true} {
		old := namespace.SetJoinViaProc(viaProc)
		p, err := namespace.Spawn(namespace.Options{New: namespace.User | namespace.UTS | namespace.Net, UIDMap: uid, GIDMap: gid,
			Path: "/bin/sleep", Args: []string{"sleep", "60"}})
		if err != nil {
			t.Fatal(err)
		}
		want, err := procfs.Namespaces(p.Pid)
		if err != nil {
			t.Fatal(err)
		}
		kinds := namespace.User | namespace.UTS | namespace.Net
		read, err := namespace.Join(p.Pid, kinds)
		if err != nil {
			t.Fatal(err)
		}
		unread, err := namespace.Join(p.Pid, kinds)
		if err != nil {
			t.Fatal(err)
		}
		// The process ends: its namespaces live on in the handles.
		p.Kill()
		p.Wait()
		namespace.SetJoinViaProc(old)
		got := read.IDs()
		for k := range kinds.Each() {
			if got[k] != want[k] || got[k].Ino == 0 {
				t.Errorf("via /proc %v: %s: IDs %+v, procfs %+v", viaProc, k, got[k], want[k])
			}
		}
		if len(got) != 3 {
			t.Errorf("via /proc %v: IDs has %d kinds, want 3: %v", viaProc, len(got), got)
		}
		read.Close()
		if after := read.IDs(); !cmp.Equal(after, got) {
			t.Errorf("via /proc %v: IDs after Close %v, before %v", viaProc, after, got)
		}
		unread.Close()
		if ids := unread.IDs(); len(ids) != 0 {
			t.Errorf("via /proc %v: IDs of a handle closed before any read: %v, want none", viaProc, ids)
		}
		if _, err := unread.Ref(namespace.Net); !errors.Is(err, os.ErrClosed) {
			t.Errorf("via /proc %v: Ref of a handle closed before any read: %v, want os.ErrClosed", viaProc, err)
		}
	}
}

// TestCloseTwiceWaits: while a Do holds a handle, a first Close waits for
// it; a second Close, from elsewhere, returns only once the first has
// released the descriptors, and nil; a Close after that returns nil at once.
func TestCloseTwiceWaits(t *testing.T) {
	h, err := namespace.Current(namespace.UTS)
	if err != nil {
		t.Fatal(err)
	}
	inDo, leave := make(chan struct{}), make(chan struct{})
	doDone := make(chan error, 1)
	go func() {
		doDone <- h.Do(func() error {
			close(inDo)
			<-leave
			return nil
		})
	}()
	<-inDo
	first, second := make(chan error, 1), make(chan error, 1)
	go func() { first <- h.Close() }()
	time.Sleep(50 * time.Millisecond) // the first Close is waiting for Do
	go func() { second <- h.Close() }()
	select {
	case err := <-second:
		t.Fatalf("the second Close returned (%v) while the first waits for Do", err)
	case err := <-first:
		t.Fatalf("the first Close returned (%v) while Do runs", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(leave)
	for name, c := range map[string]chan error{"Do": doDone, "first Close": first, "second Close": second} {
		select {
		case err := <-c:
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s did not return", name)
		}
	}
	if err := h.Close(); err != nil {
		t.Errorf("a Close after both: %v", err)
	}
}

// TestHandleBadArguments: a Bind of several kinds (or none) is refused
// before anything is made, whatever the handle holds (the handle's
// descriptors by kind once answered a set of kinds with another kind's
// descriptor, or with descriptor 0); a PID beyond pid_t's range is not
// taken modulo 2^32 by Join or PIDInside (it named this very process); a
// nil Handle's PIDInside and PIDOutside give os.ErrInvalid, not a panic.
func TestHandleBadArguments(t *testing.T) {
	if privileged && !inOwnMountNS(t) {
		return // a Bind that went through must not reach the host
	}
	h, err := namespace.Join(os.Getpid(), namespace.Net|namespace.Time|namespace.PID)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	path := filepath.Join(t.TempDir(), "ns")
	for _, kinds := range []namespace.Kind{namespace.Net | namespace.UTS, namespace.Net | namespace.Time, 0, namespace.All} {
		before := takeCounts(t)
		if err := h.Bind(kinds, path); !errors.Is(err, os.ErrInvalid) || !strings.Contains(err.Error(), "one kind at a time") {
			t.Errorf("Bind(%s): %v, want one kind at a time (os.ErrInvalid)", kinds, err)
			namespace.Unbind(path)
		}
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Bind(%s) left %s: %v", kinds, path, err)
		}
		checkNoLeak(t, before)
	}
	self := os.Getpid()
	for _, viaProc := range []bool{false, true} {
		old := namespace.SetJoinViaProc(viaProc)
		other, err := namespace.Join(1<<32+self, namespace.Net)
		namespace.SetJoinViaProc(old)
		if err == nil {
			other.Close()
			t.Errorf("via /proc %v: Join(1<<32 + %d) joined %s", viaProc, self, other)
		}
	}
	for _, f := range []func(int) (int, error){h.PIDInside, h.PIDOutside} {
		if n, err := f(1<<32 + self); !errors.Is(err, os.ErrInvalid) {
			t.Errorf("PIDInside/PIDOutside(1<<32 + %d) = %d, %v; want os.ErrInvalid", self, n, err)
		}
	}
	var nilHandle *namespace.Handle
	for name, f := range map[string]func(int) (int, error){"PIDInside": nilHandle.PIDInside, "PIDOutside": nilHandle.PIDOutside} {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s of a nil Handle panicked: %v", name, p)
				}
			}()
			if _, err := f(1); !errors.Is(err, os.ErrInvalid) {
				t.Errorf("%s of a nil Handle: %v, want os.ErrInvalid", name, err)
			}
		}()
	}
}
