package namespace_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// joinMethods runs fn once through the pidfd (where the kernel has the
// ioctls, Linux 6.11) and once under /proc, forced as on an older kernel.
func joinMethods(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	for _, viaProc := range []bool{false, true} {
		name := "pidfd"
		if viaProc {
			name = "proc"
		}
		t.Run(name, func(t *testing.T) {
			old := namespace.SetJoinViaProc(viaProc)
			defer namespace.SetJoinViaProc(old)
			if !viaProc && !namespace.JoinViaPidfd() {
				t.Skip("the kernel has no PIDFD_GET_*_NAMESPACE ioctls (Linux 6.11)")
			}
			fn(t)
		})
	}
}

// sixKinds are the kinds the speed target counts.
const sixKinds = namespace.Mount | namespace.UTS | namespace.IPC | namespace.Net | namespace.PID | namespace.Cgroup

// TestJoinMethodsAgree joins every kind of a container both ways, 1,000
// times each, and finds the namespaces that /proc names, and nothing left
// open.
func TestJoinMethodsAgree(t *testing.T) {
	c := target(t)
	want, err := c.p.Namespaces()
	if err != nil {
		t.Fatal(err)
	}
	kinds := namespace.All & procfs.Supported()
	joinMethods(t, func(t *testing.T) {
		h, err := namespace.Join(c.p.Pid, kinds) // warm: probes, caches
		if err != nil {
			t.Fatal(err)
		}
		h.Close()
		before := takeCounts(t)
		for range 1000 {
			h, err := namespace.Join(c.p.Pid, kinds)
			if err != nil {
				t.Fatal(err)
			}
			for k := range kinds.Each() {
				if got := h.IDs()[k]; got != want[k] {
					t.Fatalf("%s: Join gives %v, /proc %v", k, got, want[k])
				}
			}
			h.Close()
		}
		self, err := namespace.Current(kinds)
		if err != nil {
			t.Fatal(err)
		}
		mine, _ := procfs.Namespaces(os.Getpid())
		for k, id := range self.IDs() {
			if id != mine[k] {
				t.Errorf("Current %s: %v, /proc/self %v", k, id, mine[k])
			}
		}
		self.Close()
		// The handle enters what it pinned.
		h, err = namespace.Join(c.p.Pid, namespace.UTS|namespace.User)
		if err != nil {
			t.Fatal(err)
		}
		if lines := spawnIn(t, h, namespace.Options{}, "hostname"); lines[0] != "target" {
			t.Errorf("Handle.Spawn in the joined uts: %q", lines)
		}
		h.Close()
		checkNoLeak(t, before)
	})
}

// zombie starts /bin/true and returns its PID once it has exited and is not
// yet reaped; reap reaps it.
func zombie(t *testing.T) (pid int, reap func()) {
	t.Helper()
	cmd := exec.Command("/bin/true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var info unix.Siginfo
	// WNOWAIT: wait until it exited, and leave it a zombie.
	if err := unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid, func() { cmd.Wait() }
}

// TestJoinPidfdErrors: a zombie, a PID no process has, a process the caller
// may not inspect, each both ways, with the same errors and nothing left
// open.
func TestJoinPidfdErrors(t *testing.T) {
	joinMethods(t, func(t *testing.T) {
		pid, reap := zombie(t)
		defer reap()
		before := takeCounts(t)
		_, err := namespace.Join(pid, sixKinds)
		if !errors.Is(err, os.ErrNotExist) || !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("Join(zombie) = %v, want ErrNotExist and ErrProcessDone", err)
		}
		if _, err := namespace.Join(1<<22+1, namespace.Net); !errors.Is(err, unix.ESRCH) || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Join(missing) = %v, want ESRCH and ErrNotExist", err)
		}
		// Process 1 is out of reach for uid 65534, and here for root too
		// (this sandbox's root lacks the rights of ptrace over it).
		if _, err := os.Readlink("/proc/1/ns/net"); err != nil {
			if _, err := namespace.Join(1, sixKinds); !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "join pid 1 ") {
				t.Errorf("Join(1) = %v, want ErrPermission", err)
			}
		}
		checkNoLeak(t, before)
	})
}

// TestCurrentIsTheProcess calls Current from a thread that entered a new UTS
// namespace: it pins the process's, as /proc/self/ns shows, both ways.
func TestCurrentIsTheProcess(t *testing.T) {
	if !privileged {
		t.Skip("unshare(CLONE_NEWUTS) needs CAP_SYS_ADMIN")
	}
	want, err := procfs.Lookup(os.Getpid(), namespace.UTS)
	if err != nil {
		t.Fatal(err)
	}
	joinMethods(t, func(t *testing.T) {
		namespace.OnOwnThread(func() bool {
			if err := unix.Unshare(unix.CLONE_NEWUTS); err != nil {
				t.Error(err)
				return false
			}
			thread, _ := procfs.ThreadNamespaces()
			h, err := namespace.Current(namespace.UTS)
			if err != nil {
				t.Error(err)
				return false
			}
			defer h.Close()
			if got := h.IDs()[namespace.UTS]; got != want || got == thread[namespace.UTS] {
				t.Errorf("Current on a moved thread: %v, want the process's %v (the thread's is %v)", got, want, thread[namespace.UTS])
			}
			return false
		})
	})
}

// TestJoinWithoutProc runs the test binary in new mount and PID namespaces
// (with a user namespace for an unprivileged caller), where it mounts /proc
// with hidepid=2 and then hides /proc altogether, or hides it before nsgo
// reads anything; and in a new PID namespace alone, where /proc is still
// the caller's, whose /proc/PID names another process than the PID does
// (TestJoinWithoutProcHelper).
func TestJoinWithoutProc(t *testing.T) {
	if os.Getenv("NSGO_NO_REEXEC") != "" && privileged {
		t.Skip("NSGO_NO_REEXEC is set")
	}
	if !namespace.JoinViaPidfd() {
		t.Skip("the kernel has no PIDFD_GET_*_NAMESPACE ioctls (Linux 6.11)")
	}
	opts := namespace.Options{
		Path: "/proc/self/exe",
		Args: []string{"namespace.test", "-test.run=^TestJoinWithoutProcHelper$", "-test.v", "-test.count=1"},
		New:  namespace.Mount | namespace.PID, MountProc: true, Dir: "/",
	}
	if !privileged {
		opts.New |= namespace.User
		opts.UIDMap, opts.GIDMap = ownMaps()
	}
	for _, mode := range []string{"hide", "early", "pidns"} {
		if mode == "pidns" {
			opts.New &^= namespace.Mount
			opts.MountProc = false
		}
		var out strings.Builder
		opts.Stdout, opts.Stderr = &out, &out
		opts.Env = append(os.Environ(), "NSGO_JOIN_NOPROC_HELPER="+mode, "NSGO_NO_REEXEC=1")
		if err := waitOK(namespace.Spawn(opts)); err != nil {
			t.Fatalf("helper %s: %v\n%s", mode, err, out.String())
		}
		if !strings.Contains(out.String(), "--- PASS: TestJoinWithoutProcHelper") {
			t.Fatalf("helper %s did not pass:\n%s", mode, out.String())
		}
		t.Logf("helper %s:\n%s", mode, out.String())
	}
}

func TestJoinWithoutProcHelper(t *testing.T) {
	if os.Getenv("NSGO_JOIN_NOPROC_HELPER") == "" {
		t.Skip("run by TestJoinWithoutProc")
	}
	sleeper := exec.Command("/bin/sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleeper.Process.Kill(); sleeper.Wait() }()
	switch os.Getenv("NSGO_JOIN_NOPROC_HELPER") {
	case "early":
		joinWithoutProcEarly(t, sleeper.Process.Pid)
		return
	case "pidns":
		joinOtherPidnsProc(t, sleeper.Process.Pid)
		return
	}
	want, err := procfs.Namespaces(sleeper.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	kinds := sixKinds | namespace.User
	check := func(what string, viaProc bool) error {
		old := namespace.SetJoinViaProc(viaProc)
		defer namespace.SetJoinViaProc(old)
		for _, join := range []func() (*namespace.Handle, error){
			func() (*namespace.Handle, error) { return namespace.Join(sleeper.Process.Pid, kinds) },
			func() (*namespace.Handle, error) { return namespace.Current(kinds) }, // same namespaces
		} {
			h, err := join()
			if err != nil {
				return err
			}
			for k := range kinds.Each() {
				if got := h.IDs()[k]; got != want[k] {
					t.Errorf("%s: %s %v, want %v", what, k, got, want[k])
				}
			}
			h.Close()
		}
		return nil
	}
	// hidepid=2 (invisible), and only the PID directories (subset=pid).
	if err := unix.Mount("proc", "/proc", "proc", 0, "hidepid=2,subset=pid"); err != nil {
		t.Fatal(os.NewSyscallError("mount proc hidepid=2", err))
	}
	for _, viaProc := range []bool{false, true} {
		if err := check("hidepid=2", viaProc); err != nil {
			t.Errorf("hidepid=2, via /proc %v: %v", viaProc, err)
		}
	}
	// No /proc at all: an empty tmpfs over it.
	if err := unix.Mount("tmpfs", "/proc", "tmpfs", 0, "size=4k"); err != nil {
		t.Fatal(os.NewSyscallError("mount tmpfs on /proc", err))
	}
	if err := check("no /proc", false); err != nil {
		t.Errorf("no /proc, via the pidfd: %v", err)
	}
	if err := check("no /proc", true); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no /proc, via /proc: %v, want ErrNotExist (the test shows nothing otherwise)", err)
	}
	fmt.Println("joined without /proc")
}

// joinWithoutProcEarly hides /proc before nsgo has read anything but the
// kinds (which package namespace reads as it starts): the first look at a
// namespace file, Join, Current, Ref and OpenRef all work without it.
func joinWithoutProcEarly(t *testing.T, pid int) {
	if err := unix.Mount("tmpfs", "/proc", "tmpfs", 0, "size=4k"); err != nil {
		t.Fatal(os.NewSyscallError("mount tmpfs on /proc", err))
	}
	kinds := sixKinds | namespace.User
	h, err := namespace.Join(pid, kinds)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	self, err := namespace.Current(kinds)
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	for k := range kinds.Each() {
		got, want := h.IDs()[k], self.IDs()[k]
		if got != want || got.Dev == 0 || (procfs.HaveNSID() && got.NSID == 0) {
			t.Errorf("%s: Join %v, Current %v", k, got, want)
		}
	}
	if !procfs.HaveNSID() {
		return
	}
	ref, err := h.Ref(namespace.Net)
	if err != nil {
		t.Fatal(err)
	}
	again, err := namespace.OpenRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.IDs()[namespace.Net] != h.IDs()[namespace.Net] {
		t.Errorf("OpenRef: %v, want %v", again.IDs(), h.IDs()[namespace.Net])
	}
	fmt.Println("joined, and reopened a Ref, with no /proc from the start")
}

// joinOtherPidnsProc joins, from a new PID namespace whose /proc is still
// the parent's, a child in it: /proc/PID names another process of the
// parent namespace, or none, so the /proc method pins the wrong namespaces
// or fails, and the pidfd gets the child's.
func joinOtherPidnsProc(t *testing.T, pid int) {
	kinds := namespace.PID | namespace.Net | namespace.UTS
	self, err := namespace.Current(kinds) // the child's namespaces too
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	h, err := namespace.Join(pid, kinds)
	if err != nil {
		t.Fatal(err)
	}
	for k := range kinds.Each() {
		if h.IDs()[k] != self.IDs()[k] {
			t.Errorf("via the pidfd, %s: %v, want %v", k, h.IDs()[k], self.IDs()[k])
		}
	}
	h.Close()
	old := namespace.SetJoinViaProc(true)
	defer namespace.SetJoinViaProc(old)
	h, err = namespace.Join(pid, kinds)
	if err == nil {
		same := h.IDs()[namespace.PID] == self.IDs()[namespace.PID]
		h.Close()
		if same {
			t.Errorf("via /proc, PID %d of a new PID namespace gave its PID namespace: the test shows nothing", pid)
		}
	}
	fmt.Printf("pid %d of a new PID namespace: via /proc %v\n", pid, err)
}

// BenchmarkJoin6 is Join of six kinds and Close, through the pidfd and under
// /proc; examples/bench compares them side by side.
func BenchmarkJoin6(b *testing.B) {
	p, err := namespace.Spawn(namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "600"}})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { p.Kill(); p.Wait() }()
	for _, viaProc := range []bool{false, true} {
		name := map[bool]string{false: "pidfd", true: "proc"}[viaProc]
		b.Run(name, func(b *testing.B) {
			old := namespace.SetJoinViaProc(viaProc)
			defer namespace.SetJoinViaProc(old)
			for b.Loop() {
				h, err := namespace.Join(p.Pid, sixKinds)
				if err != nil {
					b.Fatal(err)
				}
				h.Close()
			}
		})
	}
}

// TestJoinOwnNotForChildren joins a process that unshared a PID namespace
// without forking (util-linux unshare without --fork), whose
// pid_for_children differs from its own PID namespace: Join pins its own,
// both ways, as /proc/PID/ns/pid names it. (A time_for_children that differs
// from the process's own time namespace cannot be made here: unshare(1)
// enters the new one before it runs the program.)
func TestJoinOwnNotForChildren(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("util-linux unshare not installed:", err)
	}
	args := []string{"--pid", "sh", "-c", "echo ready; exec sleep 60"}
	if !privileged {
		args = append([]string{"--user", "--map-root-user"}, args...)
	}
	cmd := exec.Command("unshare", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if b := make([]byte, 6); func() bool { n, _ := out.Read(b); return string(b[:n]) != "ready\n" }() {
		t.Fatal("unshare did not start")
	}
	own, err := procfs.Namespaces(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	children, _ := procfs.ForChildren(cmd.Process.Pid)
	if c, ok := children[namespace.PID]; ok && c == own[namespace.PID] {
		t.Fatalf("pid_for_children %v is the process's own: the test shows nothing", c)
	}
	joinMethods(t, func(t *testing.T) {
		h, err := namespace.Join(cmd.Process.Pid, namespace.PID|namespace.Time)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		for _, k := range []namespace.Kind{namespace.PID, namespace.Time} {
			if got := h.IDs()[k]; got != own[k] {
				t.Errorf("%s: Join gives %v; its own is %v, for its children %v", k, got, own[k], children[k])
			}
		}
	})
}
