package namespace_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// target starts a container with every kind but time and the host name
// "target", to be joined.
func target(t *testing.T) *container {
	t.Helper()
	uidMap, gidMap := rootMaps()
	return startContainer(t, namespace.Options{
		New:    namespace.All &^ namespace.Time,
		UIDMap: uidMap, GIDMap: gidMap,
		Hostname: "target", MountProc: true,
	})
}

// checkThreadsHome fails if any thread of this process is in a namespace
// other than the process's.
func checkThreadsHome(t *testing.T) {
	t.Helper()
	self, err := procfs.Namespaces(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	tasks, _ := filepath.Glob("/proc/self/task/*")
	for _, task := range tasks {
		for k, want := range self {
			id, err := procfs.Stat(task + "/ns/" + k.String())
			if err != nil {
				continue // the thread ended meanwhile
			}
			if id != want {
				t.Errorf("thread %s is in %s namespace %v, the process in %v", filepath.Base(task), k, id, want)
			}
		}
	}
}

func hostname() string {
	var u unix.Utsname
	unix.Uname(&u)
	return unix.ByteSliceToString(u.Nodename[:])
}

func TestJoinDo(t *testing.T) {
	c := target(t)
	kinds := namespace.UTS | namespace.IPC | namespace.Net | namespace.Cgroup | namespace.PID
	h, err := namespace.Join(c.p.Pid, kinds)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	want := h.IDs()
	outside, _ := c.p.Namespaces()
	for k := range kinds.Each() {
		if want[k] != outside[k] {
			t.Errorf("handle %s %v, target in %v", k, want[k], outside[k])
		}
	}
	err = h.Do(func() error {
		if got := hostname(); got != "target" {
			t.Errorf("host name inside Do: %q", got)
		}
		in, err := threadLinks()
		if err != nil {
			return err
		}
		for k := range (kinds &^ namespace.PID).Each() {
			if in[k.String()] != want[k] {
				t.Errorf("Do's thread in %s %v, handle %v", k, in[k.String()], want[k])
			}
		}
		if in["pid_for_children"] != want[namespace.PID] {
			t.Errorf("Do's pid_for_children %v, handle %v", in["pid_for_children"], want[namespace.PID])
		}
		return nil
	})
	if !privileged {
		if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "use Handle.Spawn") {
			t.Errorf("unprivileged Do = %v, want EPERM pointing to Handle.Spawn", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := hostname(); got == "target" {
		t.Error("the caller's thread took the target's host name")
	}
	checkThreadsHome(t)
}

// threadLinks reads the calling thread's namespace links.
func threadLinks() (map[string]procfs.ID, error) {
	out := map[string]procfs.ID{}
	entries, err := os.ReadDir("/proc/thread-self/ns")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		id, err := procfs.Stat("/proc/thread-self/ns/" + e.Name())
		if err != nil {
			return nil, err
		}
		out[e.Name()] = id
	}
	return out, nil
}

func TestJoinDoMount(t *testing.T) {
	if !privileged {
		t.Skip("entering a mount namespace from a thread needs CAP_SYS_ADMIN in the caller's user namespace")
	}
	c := target(t)
	h, err := namespace.Join(c.p.Pid, namespace.Mount|namespace.UTS)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	before := takeCounts(t)
	for range 20 {
		err = h.Do(func() error {
			// The target mounted a /proc of its PID namespace, where this
			// thread has no entry: its /proc/1 is the target's sh, the host's
			// is something else.
			comm, err := os.ReadFile("/proc/1/comm")
			if err != nil {
				return err
			}
			if string(comm) != "sh\n" {
				return fmt.Errorf("/proc/1 inside is %q, want the target's sh", comm)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	checkThreadsHome(t)
	checkNoLeak(t, before)
}

func TestJoinDoUserRefused(t *testing.T) {
	c := target(t)
	h, err := namespace.Join(c.p.Pid, namespace.User|namespace.UTS)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	called := false
	err = h.Do(func() error { called = true; return nil })
	if err == nil || called || !strings.Contains(err.Error(), "cannot enter a user namespace") {
		t.Errorf("Do with a user namespace: %v (fn called: %v)", err, called)
	}
	// The caller's own user namespace is no obstacle.
	self, err := namespace.Current(namespace.User)
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	if err := self.Do(func() error { return nil }); err != nil {
		t.Errorf("Do in our own user namespace: %v", err)
	}
}

// spawnIn runs a script in h's namespaces and returns its output lines.
func spawnIn(t *testing.T, h *namespace.Handle, opts namespace.Options, script string) []string {
	t.Helper()
	var out strings.Builder
	opts.Path, opts.Args = "/bin/sh", []string{"sh", "-c", script}
	opts.Stdout, opts.Stderr = &out, &out
	p, err := h.Spawn(opts)
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait()
	if err != nil || !st.Success() {
		t.Fatalf("%v %v:\n%s", st, err, out.String())
	}
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
}

const linksScript = `for k in mnt uts ipc net pid user cgroup time; do readlink /proc/self/ns/$k; done`

// TestHandleSpawn starts a program inside every namespace of a container,
// and checks it from inside, from outside, and against nsenter -a.
func TestHandleSpawn(t *testing.T) {
	c := target(t)
	h, err := namespace.Join(c.p.Pid, namespace.All)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	before := takeCounts(t)
	lines := spawnIn(t, h, namespace.Options{}, `echo $$; id -u; id -g; hostname; `+linksScript)
	if pid, _ := strconv.Atoi(lines[0]); pid < 2 || lines[1] != "0" || lines[2] != "0" || lines[3] != "target" {
		t.Errorf("inside: pid %s uid %s gid %s host %s; want a pid above the target's 1, root, target", lines[0], lines[1], lines[2], lines[3])
	}
	want := h.IDs()
	for i, k := range []namespace.Kind{namespace.Mount, namespace.UTS, namespace.IPC, namespace.Net, namespace.PID, namespace.User, namespace.Cgroup, namespace.Time} {
		if got := lines[4+i]; got != fmt.Sprintf("%s:[%d]", k, want[k].Ino) {
			t.Errorf("inside, %s link %q; handle %v", k, got, want[k])
		}
	}
	checkNoLeak(t, before)

	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("util-linux nsenter not installed:", err)
	}
	// The kinds the target made: nsenter, unlike Handle.Spawn, does not skip
	// a namespace the caller is in, and an unprivileged caller may not enter
	// the initial time namespace. Without --preserve-credentials it calls
	// setgroups, which the target's user namespace denies when unprivileged.
	out, err := exec.Command("nsenter", "-t", strconv.Itoa(c.p.Pid), "-U", "-m", "-u", "-i", "-n", "-p", "-C",
		"--preserve-credentials", "sh", "-c", linksScript).CombinedOutput()
	if err != nil {
		t.Fatalf("nsenter: %v\n%s", err, out)
	}
	if theirs := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"); strings.Join(theirs, " ") != strings.Join(lines[4:], " ") {
		t.Errorf("links: nsenter sees %q, Handle.Spawn %q", theirs, lines[4:])
	}
}

// TestHandleSpawnNew joins a container's user namespace and creates a
// network namespace in it.
func TestHandleSpawnNew(t *testing.T) {
	c := target(t)
	h, err := namespace.Join(c.p.Pid, namespace.User|namespace.UTS)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var out strings.Builder
	p, err := h.Spawn(namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "60"}, New: namespace.Net, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Wait()
	defer p.Kill()
	got, err := p.Namespaces()
	if err != nil {
		t.Fatal(err)
	}
	targetNS, _ := c.p.Namespaces()
	if got[namespace.User] != targetNS[namespace.User] || got[namespace.UTS] != targetNS[namespace.UTS] {
		t.Errorf("not in the target's user and uts namespaces: %v", got)
	}
	if got[namespace.Net] == targetNS[namespace.Net] {
		t.Error("no new net namespace")
	}
	if owner := ownerOf(t, p.Pid, namespace.Net); owner != targetNS[namespace.User] {
		t.Errorf("the new net namespace is owned by %v, want the joined user namespace %v", owner, targetNS[namespace.User])
	}
}

func ownerOf(t *testing.T, pid int, k namespace.Kind) procfs.ID {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/%s", pid, k))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hier, err := procfs.ReadHierarchy(int(f.Fd()), k)
	if err != nil {
		t.Fatal(err)
	}
	return hier.Owner
}

// TestRootJoinsRootless joins, as root, a container that uid 65534 made with
// util-linux.
func TestRootJoinsRootless(t *testing.T) {
	if !privileged {
		t.Skip("needs root to start the container as uid 65534 and join it")
	}
	for _, tool := range []string{"setpriv", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip("util-linux", tool, "not installed:", err)
		}
	}
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"unshare", "--user", "--map-root-user", "--uts", "--ipc", "--net", "--mount", "--pid", "--fork",
		"sh", "-c", "hostname rootless; echo ready; exec sleep 60")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		t.Fatalf("container: %q %v", line, err)
	}
	kids, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
	inner, _ := strconv.Atoi(strings.TrimSpace(string(kids)))
	if err != nil || inner == 0 {
		t.Fatalf("the container's shell: %q %v", kids, err)
	}
	defer unix.Kill(inner, unix.SIGKILL)

	h, err := namespace.Join(inner, namespace.All)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	lines := spawnIn(t, h, namespace.Options{}, `id -u; hostname; cat /proc/self/status | grep ^Uid`)
	if lines[0] != "0" || lines[1] != "rootless" {
		t.Errorf("inside: %q", lines)
	}
	// Outside, the program is uid 65534: root entered a namespace that maps
	// only 65534, and holds no more than its owner.
	p, err := h.Spawn(namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "60"}})
	if err != nil {
		t.Fatal(err)
	}
	if uid, _ := statusIDs(t, p.Pid); uid != 65534 {
		t.Errorf("host sees uid %d, want 65534", uid)
	}
	p.Kill()
	p.Wait()
	// A thread of root can enter the per-thread kinds too.
	err = h.Do(func() error {
		if got := hostname(); got != "rootless" {
			return fmt.Errorf("host name %q", got)
		}
		return nil
	})
	if err == nil || strings.Contains(err.Error(), "cannot enter a user namespace") {
		// h holds the user namespace: Do refuses it, as documented.
	}
	uts, err := namespace.Join(inner, namespace.UTS|namespace.Net)
	if err != nil {
		t.Fatal(err)
	}
	defer uts.Close()
	if err := uts.Do(func() error {
		if got := hostname(); got != "rootless" {
			return fmt.Errorf("host name %q", got)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	checkThreadsHome(t)
}

// TestJoinTargetExits joins, then lets the target exit: the handle keeps the
// namespaces.
func TestJoinTargetExits(t *testing.T) {
	c := target(t)
	h, err := namespace.Join(c.p.Pid, namespace.User|namespace.UTS|namespace.Net|namespace.IPC)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	c.p.Kill()
	c.p.Wait()
	if lines := spawnIn(t, h, namespace.Options{}, "hostname; readlink /proc/self/ns/net"); lines[0] != "target" ||
		lines[1] != fmt.Sprintf("net:[%d]", h.IDs()[namespace.Net].Ino) {
		t.Errorf("after the target exited: %q", lines)
	}
	if privileged {
		uts, err := namespace.Join(os.Getpid(), namespace.UTS) // for the comparison below
		if err != nil {
			t.Fatal(err)
		}
		uts.Close()
	}
}

func TestJoinErrors(t *testing.T) {
	before := takeCounts(t)
	for _, pid := range []int{0, -1} {
		if _, err := namespace.Join(pid, namespace.Net); err == nil || !strings.Contains(err.Error(), "not a process ID") {
			t.Errorf("Join(%d) = %v", pid, err)
		}
	}
	if _, err := namespace.Join(1<<22+1, namespace.Net); !errors.Is(err, unix.ESRCH) && !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Join(missing) = %v, want ESRCH or ErrNotExist", err)
	}
	if _, err := namespace.Join(os.Getpid(), 0); err == nil {
		t.Error("Join with no kinds succeeded")
	}
	if _, err := namespace.Join(os.Getpid(), 0x1); err == nil {
		t.Error("Join with a bit that is no kind succeeded")
	}
	// A zombie has no namespaces left to join.
	p, err := namespace.Spawn(namespace.Options{Path: "/bin/true"})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid))
		if strings.Contains(string(b), ") Z ") {
			break
		}
		runtime.Gosched()
		unix.Nanosleep(&unix.Timespec{Nsec: 10e6}, nil)
	}
	if h, err := namespace.Join(p.Pid, namespace.Net); err == nil {
		h.Close()
		t.Error("Join of a zombie succeeded")
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Join of a zombie = %v, want ErrNotExist", err)
	}
	p.Wait()
	plain := filepath.Join(t.TempDir(), "plain")
	os.WriteFile(plain, nil, 0o600)
	if _, err := namespace.FromPath(plain); err == nil || !strings.Contains(err.Error(), "not a namespace file") {
		t.Errorf("FromPath(plain file) = %v", err)
	}
	if _, err := namespace.FromPath("/nonexistent"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("FromPath(missing) = %v", err)
	}
	h, err := namespace.Current(namespace.Net)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	if err := h.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := h.Do(func() error { return nil }); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Do on a closed handle = %v", err)
	}
	if _, err := h.Spawn(namespace.Options{Path: "/bin/true"}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Spawn on a closed handle = %v", err)
	}
	if _, err := namespace.Unshare(namespace.PID); err == nil || !strings.Contains(err.Error(), "use Spawn") {
		t.Errorf("Unshare(PID) = %v", err)
	}
	if _, err := namespace.Unshare(0); err == nil {
		t.Error("Unshare(0) succeeded")
	}
	if err := namespace.Unbind(plain); err == nil || !strings.Contains(err.Error(), "unbind "+plain) {
		t.Errorf("Unbind of a file that is no mount = %v", err)
	}
	self, err := namespace.Current(namespace.UTS)
	if err != nil {
		t.Fatal(err)
	}
	uidMap, _ := ownMaps()
	for _, tc := range []struct {
		opts namespace.Options
		want string
	}{
		{namespace.Options{Path: "/bin/true", New: namespace.User, UIDMap: uidMap}, "new user namespace inside a Handle's namespaces is not supported"},
		{namespace.Options{}, "empty Path"},
		{namespace.Options{Path: "/bin/true", Hostname: "x"}, "Hostname needs a new uts namespace"},
		{namespace.Options{Path: "/nonexistent"}, "child execve: no such file"},
	} {
		if p, err := self.Spawn(tc.opts); err == nil {
			p.Wait()
			t.Errorf("Handle.Spawn(%+v) succeeded", tc.opts)
		} else if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Handle.Spawn: %v, want %q", err, tc.want)
		}
	}
	self.Close()
	checkNoLeak(t, before)
}

func TestFromPathAndCurrent(t *testing.T) {
	self, err := namespace.Current(namespace.Net | namespace.UTS)
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	fromPath, err := namespace.FromPath("/proc/self/ns/uts")
	if err != nil {
		t.Fatal(err)
	}
	defer fromPath.Close()
	if fromPath.Kinds() != namespace.UTS || fromPath.IDs()[namespace.UTS] != self.IDs()[namespace.UTS] {
		t.Errorf("FromPath: %s %v; Current: %v", fromPath.Kinds(), fromPath.IDs(), self.IDs())
	}
	lines := spawnIn(t, self, namespace.Options{}, "readlink /proc/self/ns/uts")
	if lines[0] != fmt.Sprintf("uts:[%d]", self.IDs()[namespace.UTS].Ino) {
		t.Errorf("Spawn in our own namespaces: %q", lines)
	}
}

// TestDoLoop enters and leaves a network namespace 10,000 times: no thread,
// descriptor or goroutine may stay behind, and no thread in the namespace.
func TestDoLoop(t *testing.T) {
	if !privileged {
		t.Skip("Do needs CAP_SYS_ADMIN")
	}
	n := 10000
	if testing.Short() {
		n = 1000
	}
	h, err := namespace.Unshare(namespace.Net)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	want := h.IDs()[namespace.Net]
	// The runtime keeps idle threads for locked goroutines: take the counts
	// once it has its pool, then no count may grow with the calls.
	var before counts
	for i := range n {
		if i == n/10 {
			before = takeCounts(t)
		}
		if err := h.Do(func() error {
			in, err := procfs.Stat("/proc/thread-self/ns/net")
			if err != nil || in != want {
				return fmt.Errorf("call %d: in %v, %v", i, in, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	checkNoLeak(t, before)
	checkThreadsHome(t)
}

// TestDoConcurrent runs Do on two handles from many goroutines at once.
func TestDoConcurrent(t *testing.T) {
	if !privileged {
		t.Skip("Do needs CAP_SYS_ADMIN")
	}
	var handles []*namespace.Handle
	for _, name := range []string{"a", "b"} {
		h, err := namespace.Unshare(namespace.UTS)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		if err := h.Do(func() error { return unix.Sethostname([]byte(name)) }); err != nil {
			t.Fatal(err)
		}
		handles = append(handles, h)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := range 32 {
		wg.Go(func() {
			for i := range 100 {
				h, want := handles[(g+i)%2], []string{"a", "b"}[(g+i)%2]
				if err := h.Do(func() error {
					if got := hostname(); got != want {
						return fmt.Errorf("goroutine %d: host name %q in the handle of %q", g, got, want)
					}
					return nil
				}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkThreadsHome(t)
}

func TestDoPanic(t *testing.T) {
	self, err := namespace.Current(namespace.UTS)
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	defer func() {
		if p := recover(); p != "boom" {
			t.Errorf("recovered %v, want the panic of fn", p)
		}
	}()
	self.Do(func() error { panic("boom") })
}

// TestDoFnChangesNamespaces has fn move its own thread into new namespaces:
// of the kind that Do entered, which Do's setns back undoes, and of kinds Do
// did not touch, including the _for_children links, which Do can only see.
// No thread of the process may be left anywhere but home, and the calls
// must keep working.
func TestDoFnChangesNamespaces(t *testing.T) {
	h := unshareNet(t)
	for _, c := range []struct {
		name  string
		flags int
	}{
		{"net", unix.CLONE_NEWNET},
		{"uts", unix.CLONE_NEWUTS},
		{"ipc", unix.CLONE_NEWIPC},
		{"cgroup", unix.CLONE_NEWCGROUP},
		{"pid_for_children", unix.CLONE_NEWPID},
		{"time_for_children", unix.CLONE_NEWTIME},
		{"mnt", unix.CLONE_NEWNS},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := os.Readlink("/proc/self/ns/" + c.name); err != nil {
				t.Skipf("no %s namespaces here: %v", c.name, err)
			}
			// Many calls, so that a thread wrongly given back would
			// likely serve the next one, and a check that runs after.
			for range 50 {
				if err := h.Do(func() error { return unix.Unshare(c.flags) }); err != nil {
					t.Fatal(err)
				}
			}
			checkLinksHome(t)
		})
	}
}

// checkLinksHome fails if any link of any thread of this process, the
// _for_children ones included, differs from the process's.
func checkLinksHome(t *testing.T) {
	t.Helper()
	names, err := os.ReadDir("/proc/self/ns")
	if err != nil {
		t.Fatal(err)
	}
	tasks, _ := filepath.Glob("/proc/self/task/*")
	for _, n := range names {
		want, err := os.Readlink("/proc/self/ns/" + n.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			if got, err := os.Readlink(task + "/ns/" + n.Name()); err == nil && got != want {
				t.Errorf("thread %s: %s is %s, the process's %s", filepath.Base(task), n.Name(), got, want)
			}
		}
	}
}

func TestUnshare(t *testing.T) {
	if !privileged {
		if _, err := namespace.Unshare(namespace.Net); !errors.Is(err, os.ErrPermission) {
			t.Errorf("unprivileged Unshare = %v, want EPERM", err)
		}
		return
	}
	host := hostname()
	h, err := namespace.Unshare(namespace.Net | namespace.UTS | namespace.Mount)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	self, _ := procfs.Namespaces(os.Getpid())
	for k, id := range h.IDs() {
		if id == self[k] {
			t.Errorf("Unshare: %s namespace is ours", k)
		}
	}
	err = h.Do(func() error {
		if err := unix.Sethostname([]byte("unshared")); err != nil {
			return err
		}
		dev, err := os.ReadFile("/proc/thread-self/net/dev")
		if err != nil {
			return err
		}
		if n := strings.Count(string(dev), ":"); n != 1 || !strings.Contains(string(dev), "lo:") {
			return fmt.Errorf("a new net namespace has only lo; /proc/thread-self/net/dev:\n%s", dev)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if hostname() != host {
		t.Errorf("host name changed to %q", hostname())
	}
	checkThreadsHome(t)
}

// TestBindUnbind runs Bind and Unbind in a helper process with a private
// mount namespace of its own; the host's mounts must not change.
func TestBindUnbind(t *testing.T) {
	before, _ := os.ReadFile("/proc/self/mountinfo")
	var out strings.Builder
	opts := namespace.Options{
		Path: "/proc/self/exe", Args: []string{"namespace.test", "-test.run=^$"},
		// The directory is the test's: the helper's mounts on it vanish with
		// its mount namespace, and the test removes it.
		Env: append(os.Environ(), "NSGO_NAMESPACE_HELPER=bind", "NSGO_BIND_DIR="+t.TempDir()),
		New: namespace.Mount, Stdout: &out, Stderr: &out,
	}
	if !privileged {
		opts.New |= namespace.User
		opts.UIDMap, opts.GIDMap = ownMaps()
	}
	p, err := namespace.Spawn(opts)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := p.Wait(); err != nil || !st.Success() || !strings.Contains(out.String(), "bind: ok") {
		t.Errorf("helper: %v %v\n%s", st, err, out.String())
	}
	if after, _ := os.ReadFile("/proc/self/mountinfo"); string(after) != string(before) {
		t.Errorf("host mounts changed:\n%s\nnow:\n%s", before, after)
	}
}

// bindHelper runs in its own mount namespace, as root of it.
func bindHelper() error {
	dir := os.Getenv("NSGO_BIND_DIR")
	h, err := namespace.Unshare(namespace.Net)
	if err != nil {
		return err
	}
	id := h.IDs()[namespace.Net]
	path := filepath.Join(dir, "test")
	if err := h.Bind(namespace.UTS, path); err == nil || !strings.Contains(err.Error(), "holds no uts namespace") {
		return fmt.Errorf("Bind of a kind the handle lacks: %v", err)
	}
	if err := h.Bind(namespace.Net, path); err != nil {
		return err
	}
	h.Close()
	// The directory is a shared mount point now, and the file a bind mount.
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	var dirShared, fileBound bool
	for _, line := range strings.Split(string(mounts), "\n") {
		f := strings.Fields(line)
		if len(f) > 6 && f[4] == dir && strings.Contains(line, " shared:") {
			dirShared = true
		}
		if len(f) > 4 && f[4] == path && strings.Contains(line, " - nsfs ") {
			fileBound = true
		}
	}
	if !dirShared || !fileBound {
		return fmt.Errorf("dir shared %v, file bound %v:\n%s", dirShared, fileBound, mounts)
	}
	again, err := namespace.FromPath(path)
	if err != nil {
		return err
	}
	got := again.IDs()[namespace.Net]
	again.Close()
	if got != id {
		return fmt.Errorf("FromPath gives %v, Bind was given %v", got, id)
	}
	if err := h.Bind(namespace.Net, path); !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("Bind on a closed handle: %v", err)
	}
	if err := namespace.Unbind(path); err != nil {
		return err
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("after Unbind: %v", err)
	}
	if err := namespace.Unbind(path); err == nil {
		return errors.New("second Unbind succeeded")
	}

	// A directory shared already, and one that is a private mount point: both
	// end up shared, with one mount each, not a new one stacked on top.
	private := filepath.Join(dir, "private")
	if err := os.Mkdir(private, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(private, private, "", unix.MS_BIND, ""); err != nil {
		return err
	}
	defer unix.Unmount(private, unix.MNT_DETACH)
	if err := unix.Mount("", private, "", unix.MS_PRIVATE, ""); err != nil {
		return err
	}
	h2, err := namespace.Unshare(namespace.Net)
	if err != nil {
		return err
	}
	defer h2.Close()
	for _, p := range []string{filepath.Join(dir, "again"), filepath.Join(private, "ns")} {
		if err := h2.Bind(namespace.Net, p); err != nil {
			return err
		}
		defer namespace.Unbind(p)
	}
	mounts, _ = os.ReadFile("/proc/self/mountinfo")
	for _, d := range []string{dir, private} {
		n, shared := 0, true
		for _, line := range strings.Split(string(mounts), "\n") {
			if f := strings.Fields(line); len(f) > 4 && f[4] == d {
				n++
				shared = shared && strings.Contains(line, " shared:")
			}
		}
		if n != 1 || !shared {
			return fmt.Errorf("%s: %d mounts, shared %v:\n%s", d, n, shared, mounts)
		}
	}
	return nil
}
