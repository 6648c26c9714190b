package namespace_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// Process.PidFD, on every child path, for Spawn (where clone3's CLONE_PIDFD
// gives it, or pidfd_open after clone) and for Handle.Spawn into a PID
// namespace (pidfd_open of the program's process, which the child forked):
// the descriptor is the program's (fdinfo), it is the only pidfd open for
// it, poll says when the program exits, pidfd_send_signal kills it, and
// Wait closes it.

// pidfdCount counts this process's pidfds.
func pidfdCount(t *testing.T) int {
	t.Helper()
	n := 0
	for _, fd := range fdTargets() {
		if strings.HasSuffix(fd, "=anon_inode:[pidfd]") {
			n++
		}
	}
	return n
}

// fdinfoPid returns the Pid line of fd's /proc/self/fdinfo entry: the PID
// of the process a pidfd refers to.
func fdinfoPid(t *testing.T, fd int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", fd))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Pid:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("fdinfo of %d has no Pid line:\n%s", fd, b)
	return ""
}

// pollIn polls fd for POLLIN for at most ms milliseconds.
func pollIn(t *testing.T, fd, ms int) bool {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return n == 1 && fds[0].Revents&unix.POLLIN != 0
	}
}

func TestPidFD(t *testing.T) {
	type config struct {
		name   string
		handle bool // Handle.Spawn into a PID namespace: a second fork
		opts   func(t *testing.T) namespace.Options
	}
	configs := []config{
		{name: "plain", opts: func(t *testing.T) namespace.Options { return namespace.Options{} }},
		{name: "user", opts: func(t *testing.T) namespace.Options {
			u, g := ownMaps()
			return namespace.Options{New: namespace.User | namespace.PID, UIDMap: u, GIDMap: g, SetGroups: idmap.Deny}
		}},
		{name: "cgroup", opts: func(t *testing.T) namespace.Options {
			return namespace.Options{Cgroup: namespace.CgroupDir{Path: testCgroup(t)}}
		}},
		{name: "handle pid", handle: true, opts: func(t *testing.T) namespace.Options { return namespace.Options{} }},
	}
	for _, path := range namespace.ChildPaths {
		t.Run(path, func(t *testing.T) {
			skipOwnStackUnderRaceCover(t, path)
			defer namespace.SetChildPath(namespace.SetChildPath(path))
			for _, c := range configs {
				for _, clone3 := range []bool{true, false} {
					t.Run(fmt.Sprintf("%s/clone3=%v", c.name, clone3), func(t *testing.T) {
						if !clone3 && c.name == "cgroup" {
							t.Skip("Cgroup needs clone3")
						}
						defer namespace.SetNoClone3(namespace.SetNoClone3(!clone3))
						opts := c.opts(t)
						var h *namespace.Handle
						if c.handle {
							tpid := unshareTarget(t)
							var err error
							if h, err = namespace.Join(tpid, namespace.PID|namespace.User); err != nil {
								t.Fatal(err)
							}
							defer h.Close()
						}
						before := takeCounts(t)
						pidfds := pidfdCount(t)
						p, w, out := spawnInCgroup(t, h, opts)
						defer w.Close()
						fd, err := p.PidFD()
						if err != nil {
							t.Fatal(err)
						}
						if got := fdinfoPid(t, fd); got != fmt.Sprint(p.Pid) {
							t.Errorf("pidfd %d refers to pid %s, the program is %d", fd, got, p.Pid)
						}
						if n := pidfdCount(t); n != pidfds+1 {
							t.Errorf("%d pidfds open for one program, want 1: %v", n-pidfds, fdTargets())
						}
						if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
							t.Errorf("pidfd flags %#x %v: want close-on-exec", flags, err)
						}
						if pollIn(t, fd, 0) {
							t.Fatal("pidfd readable while the program runs")
						}
						if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil {
							t.Fatal("pidfd_send_signal:", err)
						}
						if !pollIn(t, fd, 20000) {
							t.Fatal("pidfd not readable 20s after SIGKILL")
						}
						// Exited, not reaped: the PID is still the program's.
						if err := p.Signal(syscall.Signal(0)); err != nil {
							t.Errorf("Signal 0 to the zombie: %v", err)
						}
						st, err := p.Wait()
						if err != nil {
							t.Fatal(err)
						}
						if ws := st.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
							t.Errorf("state %v, want killed by SIGKILL; output %q", st, out)
						}
						if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
							if target, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd)); target == "anon_inode:[pidfd]" && fdinfoPid(t, fd) == fmt.Sprint(p.Pid) {
								t.Errorf("pidfd %d still open after Wait", fd)
							}
						}
						if _, err := p.PidFD(); !errors.Is(err, os.ErrProcessDone) {
							t.Errorf("PidFD after Wait: %v, want os.ErrProcessDone", err)
						}
						if err := p.Kill(); !errors.Is(err, os.ErrProcessDone) {
							t.Errorf("Kill after Wait: %v, want os.ErrProcessDone", err)
						}
						w.Close()
						checkNoLeak(t, before)
					})
				}
			}
		})
	}
}

// TestPidFDConcurrentWait kills and polls from other goroutines while Wait
// runs and closes the pidfd: Signal gives nil or os.ErrProcessDone, never
// a signal to another process or a closed descriptor's error.
func TestPidFDConcurrentWait(t *testing.T) {
	before := takeCounts(t)
	for range 50 {
		p, err := namespace.Spawn(namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "100"}})
		if err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 3)
		go func() {
			for range 100 {
				if err := p.Signal(syscall.Signal(0)); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
		go func() { time.Sleep(time.Millisecond); errs <- p.Kill() }()
		go func() { _, err := p.Wait(); errs <- err }()
		for range 3 {
			if err := <-errs; err != nil && !errors.Is(err, os.ErrProcessDone) {
				t.Error(err)
			}
		}
		if st, _ := p.Wait(); st == nil || st.Success() {
			t.Errorf("state %v, want killed", st)
		}
	}
	checkNoLeak(t, before)
}
