package namespace_test

import (
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSeccompClone3Filter proves that a run under the seccomp launcher
// (testdata/seccomp, which CI runs this test binary under with ENOSYS and
// with EPERM) really has clone3 refused, so that those runs of every other
// test cannot pass because the filter was missing. Without the filter,
// clone3 with a size of 0 fails with EINVAL, which neither run expects.
func TestSeccompClone3Filter(t *testing.T) {
	name := os.Getenv("NSGO_SECCOMP_CLONE3")
	if name == "" {
		t.Skip("NSGO_SECCOMP_CLONE3 is not set: not running under the clone3 seccomp launcher (namespace/testdata/seccomp), as .ci/run does")
	}
	want := errnoNamed(t, name)
	if want == unix.EINVAL {
		t.Fatalf("NSGO_SECCOMP_CLONE3=%s: the errno must differ from EINVAL, which clone3 gives without the filter", name)
	}
	// The filter holds on every thread: check from several at once, each
	// goroutine holding a thread of its own until all have called.
	const threads = 8
	var called sync.WaitGroup
	called.Add(threads)
	errs := make(chan syscall.Errno, threads)
	for range threads {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			_, _, e := unix.RawSyscall(unix.SYS_CLONE3, 0, 0, 0)
			errs <- e
			called.Done()
			called.Wait()
		}()
	}
	for range threads {
		if e := <-errs; e != want {
			t.Errorf("clone3(NULL, 0) = %v (%s), want %v (%s) from the seccomp filter", e, unix.ErrnoName(e), want, name)
		}
	}
	// The kernel's view from outside the call: this process runs in
	// seccomp filter mode (2). (The launcher sets no_new_privs only
	// without CAP_SYS_ADMIN, so NoNewPrivs is not checked.)
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), "\nSeccomp:\t2\n") {
		t.Errorf("/proc/self/status lacks \"Seccomp:\\t2\" (filter mode):\n%s", status)
	}
}

func errnoNamed(t *testing.T, name string) syscall.Errno {
	t.Helper()
	for e := syscall.Errno(1); e < 4096; e++ {
		if unix.ErrnoName(e) == name {
			return e
		}
	}
	t.Fatalf("NSGO_SECCOMP_CLONE3=%q names no errno", name)
	return 0
}
