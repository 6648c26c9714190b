package procfs_test

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
)

// startIn starts `unshare FLAGS... sh` from util-linux and returns its process
// once it has entered its namespaces; the test's cleanup kills and reaps it.
func startIn(t *testing.T, flags ...string) *exec.Cmd {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("util-linux unshare not installed:", err)
	}
	args := append(flags, "sh", "-c", "echo ready; exec sleep 60")
	cmd := exec.Command("unshare", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("unshare %v: read %q, %v", flags, line, err)
	}
	return cmd
}

// linkIDs reads the inode numbers from the link text, the kernel's other view.
func linkIDs(t *testing.T, dir string) map[procfs.Kind]uint64 {
	t.Helper()
	out := map[procfs.Kind]uint64{}
	for k := range procfs.Supported().Each() {
		s, err := os.Readlink(filepath.Join(dir, "ns", k.String()))
		if err != nil {
			t.Fatal(err)
		}
		lk, ino, err := procfs.ParseLink(s)
		if err != nil || lk != k {
			t.Fatalf("link %s: %q: kind %s, %v", k, s, lk, err)
		}
		out[k] = ino
	}
	return out
}

func inodes(m map[procfs.Kind]procfs.ID) map[procfs.Kind]uint64 {
	out := map[procfs.Kind]uint64{}
	for k, id := range m {
		out[k] = id.Ino
	}
	return out
}

func TestSupported(t *testing.T) {
	entries, err := os.ReadDir("/proc/self/ns")
	if err != nil {
		t.Fatal(err)
	}
	var want procfs.Kind
	for _, e := range entries {
		if k, err := procfs.ParseKinds(e.Name()); err == nil {
			want |= k
		}
	}
	if got := procfs.Supported(); got != want {
		t.Errorf("Supported() = %s, /proc/self/ns has %s", got, want)
	}
	if err := procfs.CheckSupported(want); err != nil {
		t.Errorf("CheckSupported(%s) = %v", want, err)
	}
	if missing := procfs.All &^ want; missing != 0 {
		err := procfs.CheckSupported(procfs.All)
		if !errors.Is(err, procfs.ErrNotSupported) {
			t.Errorf("CheckSupported(All) with %s missing = %v, want ErrNotSupported", missing, err)
		}
	}
}

func TestNamespacesSelf(t *testing.T) {
	got, err := procfs.Namespaces(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(linkIDs(t, "/proc/self"), inodes(got)); diff != "" {
		t.Errorf("Namespaces(self) vs readlink (-links +got):\n%s", diff)
	}
	for k, id := range got {
		one, err := procfs.Lookup(os.Getpid(), k)
		if err != nil || one != id {
			t.Errorf("Lookup(self, %s) = %v, %v; Namespaces says %v", k, one, err, id)
		}
		viaStat, err := procfs.Stat("/proc/self/ns/" + k.String())
		if err != nil || viaStat != id {
			t.Errorf("Stat(/proc/self/ns/%s) = %v, %v; want %v", k, viaStat, err, id)
		}
	}
}

// TestNamespacesOfChild checks a process that util-linux put into new
// namespaces: its IDs differ from ours in exactly the new kinds, and they match
// the kernel's link text read from outside.
func TestNamespacesOfChild(t *testing.T) {
	flags := []string{"--uts", "--ipc", "--net"}
	newKinds := procfs.UTS | procfs.IPC | procfs.Net
	if os.Getuid() != 0 {
		flags = append([]string{"--user", "--map-root-user"}, flags...)
		newKinds |= procfs.User
	}
	cmd := startIn(t, flags...)
	self, err := procfs.Namespaces(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	child, err := procfs.Namespaces(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	for k := range procfs.Supported().Each() {
		if differs := child[k] != self[k]; differs != newKinds.Has(k) {
			t.Errorf("%s: child %v, self %v; want different=%v", k, child[k], self[k], newKinds.Has(k))
		}
		if child[k].Dev != self[k].Dev {
			t.Errorf("%s: child on device %d, self on %d; nsfs is one device", k, child[k].Dev, self[k].Dev)
		}
	}
	dir := "/proc/" + strconv.Itoa(cmd.Process.Pid)
	if diff := cmp.Diff(linkIDs(t, dir), inodes(child)); diff != "" {
		t.Errorf("Namespaces(child) vs readlink (-links +got):\n%s", diff)
	}
}

func TestForChildren(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("unshare --pid --time without --user needs root; the unprivileged run covers TestNamespacesOfChild")
	}
	// Without --fork, unshare(1) unshares PID and time namespaces for its
	// children and then execs sh. sh stays in our PID namespace, whose
	// pid_for_children names nothing until a first child exists; execve moves
	// it into its time_for_children namespace.
	cmd := startIn(t, "--pid", "--time")
	pid := cmd.Process.Pid
	own, err := procfs.Namespaces(pid)
	if err != nil {
		t.Fatal(err)
	}
	kids, err := procfs.ForChildren(pid)
	if err != nil {
		t.Fatal(err)
	}
	self, _ := procfs.Namespaces(os.Getpid())
	if own[procfs.PID] != self[procfs.PID] {
		t.Errorf("sh moved to pid namespace %v, ours is %v", own[procfs.PID], self[procfs.PID])
	}
	if id, ok := kids[procfs.PID]; ok {
		t.Errorf("pid_for_children = %v before any child; want no entry", id)
	}
	if own[procfs.Time] == self[procfs.Time] {
		t.Errorf("sh is still in our time namespace %v after execve", self[procfs.Time])
	}
	if id, ok := kids[procfs.Time]; !ok || id != own[procfs.Time] {
		t.Errorf("time_for_children = %v (present %v), want sh's own %v", id, ok, own[procfs.Time])
	}
	selfKids, err := procfs.ForChildren(os.Getpid())
	if err != nil || selfKids[procfs.PID] != self[procfs.PID] {
		t.Errorf("ForChildren(self) = %v, %v; want pid %v", selfKids, err, self[procfs.PID])
	}
}

// threadInNewUTS makes a UTS namespace (which needs CAP_SYS_ADMIN) and
// returns its handle, closed when the test ends, and what
// ThreadNamespaces reads inside Do there.
func threadInNewUTS(t *testing.T) (*namespace.Handle, map[procfs.Kind]procfs.ID) {
	t.Helper()
	h, err := namespace.Unshare(namespace.UTS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	var inside map[procfs.Kind]procfs.ID
	if err := h.Do(func() (err error) {
		inside, err = procfs.ThreadNamespaces()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return h, inside
}

// TestThreadNamespaces reads the namespaces of a thread that is in a UTS
// namespace of its own, inside namespace.Do, while the process is not.
func TestThreadNamespaces(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("Unshare and Do need CAP_SYS_ADMIN")
	}
	proc, err := procfs.Namespaces(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	h, inside := threadInNewUTS(t)
	for k, id := range inside {
		want := proc[k]
		if k == procfs.UTS {
			want = h.IDs()[procfs.UTS]
		}
		if id != want {
			t.Errorf("thread in %s %v, want %v (process %v)", k, id, want, proc[k])
		}
	}
	if len(inside) != len(proc) {
		t.Errorf("thread has %d kinds, the process %d", len(inside), len(proc))
	}
	if now, _ := procfs.Lookup(os.Getpid(), procfs.UTS); now != proc[procfs.UTS] {
		t.Errorf("process uts moved to %v", now)
	}
	if self, err := procfs.ThreadNamespaces(); err != nil || len(self) != len(proc) {
		t.Errorf("ThreadNamespaces outside Do: %v, %v", self, err)
	}
}

func TestLookupErrors(t *testing.T) {
	// A pid that cannot exist: above the kernel's pid_max limit.
	_, err := procfs.Lookup(1<<22+1, procfs.Net)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Lookup(missing pid) = %v, want os.ErrNotExist", err)
	}
	if _, err := procfs.Namespaces(1<<22 + 1); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Namespaces(missing pid) = %v, want os.ErrNotExist", err)
	}
	if _, err := procfs.Lookup(os.Getpid(), procfs.Net|procfs.UTS); err == nil {
		t.Error("Lookup of two kinds succeeded")
	}
	if _, err := procfs.Lookup(os.Getpid(), 0x1); err == nil {
		t.Error("Lookup of no kind succeeded")
	}
	f := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := procfs.Stat(f); err == nil {
		t.Errorf("Stat(%s) of a plain file succeeded", f)
	}
	if _, err := procfs.Stat("/nonexistent/ns"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat(missing) = %v, want os.ErrNotExist", err)
	}
}

func TestNotSupportedError(t *testing.T) {
	err := procfs.KindNotSupported(procfs.Time)
	if !errors.Is(err, procfs.ErrNotSupported) {
		t.Errorf("%v does not match ErrNotSupported", err)
	}
	if got, want := err.Error(), "time namespaces not supported by this kernel (requires Linux 5.6)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
