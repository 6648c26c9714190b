package namespace_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// inRoot is path inside the container's root, seen from the host.
func (c *mountContainer) inRoot(path string) string {
	return fmt.Sprintf("/proc/%d/root%s", c.p.Pid, path)
}

// mountedAt reports whether the container's own mountinfo, read by the test,
// has a mount at target.
func (c *mountContainer) mountedAt(t *testing.T, target string) bool {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", c.p.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == target {
			return true
		}
	}
	return false
}

// hostVolume makes a host directory with a file in it, and a host file.
func hostVolume(t *testing.T) (dir, file string) {
	t.Helper()
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file = filepath.Join(t.TempDir(), "conf")
	if err := os.WriteFile(file, []byte("key=value\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, file
}

// TestAttach binds a host directory and a host file into a running
// container, read-write and read-only, at targets it creates, and checks
// from the container's side (its root and its mountinfo, and a program run
// inside) and from the host's (its mountinfo unchanged, no thread left in
// the container, nothing leaked).
func TestAttach(t *testing.T) {
	if !privileged {
		t.Skip("Attach needs CAP_SYS_ADMIN: TestAttachUnprivileged")
	}
	for _, user := range []bool{false, true} {
		t.Run(fmt.Sprintf("user=%v", user), func(t *testing.T) {
			c := startMountContainer(t, user)
			h := c.join(t, namespace.Mount)
			dir, file := hostVolume(t)
			hostBefore, _ := os.ReadFile("/proc/self/mountinfo")
			before := takeCounts(t)

			if err := h.Attach(dir, "/vol/a/b", false); err != nil {
				t.Fatal(err)
			}
			if err := h.Attach(file, "/etc2/conf", true); err != nil {
				t.Fatal(err)
			}
			if err := h.Attach(dir, "/data/ro", true); err != nil {
				t.Fatal(err)
			}
			checkNoLeak(t, before)
			checkThreadsHome(t)
			if after, _ := os.ReadFile("/proc/self/mountinfo"); string(after) != string(hostBefore) {
				t.Errorf("the caller's mounts changed:\n%s\nnow:\n%s", hostBefore, after)
			}

			// The container's side, read from the host.
			for target, content := range map[string]string{"/vol/a/b/hello": "from the host\n", "/etc2/conf": "key=value\n", "/data/ro/hello": "from the host\n"} {
				if b, err := os.ReadFile(c.inRoot(target)); string(b) != content {
					t.Errorf("%s in the container: %q %v", target, b, err)
				}
			}
			for _, target := range []string{"/vol/a/b", "/etc2/conf", "/data/ro"} {
				if !c.mountedAt(t, target) {
					t.Errorf("the container's mountinfo has no mount at %s", target)
				}
			}
			// Written through the read-write one, seen on the host.
			if err := os.WriteFile(c.inRoot("/vol/a/b/new"), []byte("x"), 0o644); err != nil {
				t.Error(err)
			} else if b, _ := os.ReadFile(filepath.Join(dir, "new")); string(b) != "x" {
				t.Errorf("written in the container, the host reads %q", b)
			}
			for _, target := range []string{"/etc2/conf", "/data/ro/hello"} {
				if err := os.WriteFile(c.inRoot(target), []byte("y"), 0o644); !errors.Is(err, unix.EROFS) {
					t.Errorf("writing the read-only %s: %v, want EROFS", target, err)
				}
			}
			// And through Mounts.
			mounts, err := h.Mounts()
			if err != nil {
				t.Fatal(err)
			}
			if m, ok := byTarget(mounts, "/etc2/conf"); !ok || !strings.HasPrefix(m.Options, "ro") {
				t.Errorf("Mounts at /etc2/conf: %+v %v", m, ok)
			}
			if m, ok := byTarget(mounts, "/vol/a/b"); !ok || !strings.HasPrefix(m.Options, "rw") {
				t.Errorf("Mounts at /vol/a/b: %+v %v", m, ok)
			}
			// A program inside sees them as the container does.
			lines := spawnIn(t, h, namespace.Options{}, "cat /vol/a/b/hello /etc2/conf; { echo z > /etc2/conf; } 2>&- || echo refused")
			if strings.Join(lines, "|") != "from the host|key=value|refused" {
				t.Errorf("inside: %q", lines)
			}
		})
	}
}

// TestAttachConfined points targets through symbolic links that lead out
// of the container's root (absolute, relative, with ".."), and at paths that
// climb out by their own "..": the links resolve inside the root, as the
// container sees them, and the paths are refused; the host gets nothing. A
// container that chroots, whose namespace's root is the host's copy, is the
// hard case: only resolving inside the process's root keeps the links in.
func TestAttachConfined(t *testing.T) {
	if !privileged {
		t.Skip("Attach needs CAP_SYS_ADMIN: TestAttachUnprivileged")
	}
	for _, how := range []string{"pivot_root", "chroot"} {
		t.Run(how, func(t *testing.T) { testAttachConfined(t, how) })
	}
}

func testAttachConfined(t *testing.T, how string) {
	c := startMountContainerRoot(t, true, how)
	h := c.join(t, namespace.Mount)
	dir, _ := hostVolume(t)
	hostBefore, _ := os.ReadFile("/proc/self/mountinfo")
	// The host directory that the links would reach if they escaped.
	escape := t.TempDir()
	for name, to := range map[string]string{
		"abs":   escape,                  // absolute: the container's own path of that name
		"up":    "../../../../../../..",  // relative, far above the root
		"mixed": "/data/../../../" + "x", // absolute with ".."
	} {
		if err := os.Symlink(to, c.inRoot("/"+name)); err != nil {
			t.Fatal(err)
		}
	}
	// What an escape would create on the host, each way: through the
	// links from the namespace's root, or the names themselves at the
	// namespace's root when that is the host's copy and the links are not
	// there. None may exist now; any that appears is an escape, removed.
	escapes := []string{"/abs", "/up", "/mixed", "/x", "/tmp/vol2"}
	for _, p := range escapes {
		if _, err := os.Lstat(p); err == nil {
			t.Fatalf("%s exists on the host: cannot tell an escape", p)
		}
	}
	defer func() {
		for _, p := range escapes {
			if _, err := os.Lstat(p); err == nil {
				t.Errorf("%s appeared on the host", p)
				os.RemoveAll(p)
			}
		}
	}()
	before := takeCounts(t)
	for target, inside := range map[string]string{
		"/abs/vol":     escape + "/vol",
		"/up/tmp/vol2": "/tmp/vol2",
		"/mixed/vol3":  "/x/vol3",
	} {
		if err := h.Attach(dir, target, false); err != nil {
			t.Errorf("Attach at %s: %v", target, err)
			continue
		}
		if !c.mountedAt(t, inside) {
			t.Errorf("Attach at %s: no mount at %s inside", target, inside)
		}
		if b, err := os.ReadFile(c.inRoot(inside + "/hello")); err != nil || string(b) != "from the host\n" {
			t.Errorf("Attach at %s: %s inside: %q %v", target, inside, b, err)
		}
	}
	if ents, _ := os.ReadDir(escape); len(ents) != 0 {
		t.Errorf("the host directory the link names got %v", ents)
	}
	for _, target := range []string{"/../vol", "/../../a/b/c", "/data/../../vol", "relative/vol", "/", "/data/.."} {
		if err := h.Attach(dir, target, false); !errors.Is(err, os.ErrInvalid) {
			t.Errorf("Attach at %s: %v, want os.ErrInvalid", target, err)
		}
	}
	checkNoLeak(t, before)
	if after, _ := os.ReadFile("/proc/self/mountinfo"); string(after) != string(hostBefore) {
		t.Errorf("the caller's mounts changed")
	}
}

// TestAttachErrors: a missing source, a handle without Mount, a target under
// a file, a failure after the target was created; each leaves nothing: no
// mount, no new file or directory in the container, no descriptor, thread
// or child.
func TestAttachErrors(t *testing.T) {
	if !privileged {
		t.Skip("Attach needs CAP_SYS_ADMIN: TestAttachUnprivileged")
	}
	c := startMountContainer(t, true)
	h := c.join(t, namespace.Mount)
	dir, file := hostVolume(t)
	hostBefore, _ := os.ReadFile("/proc/self/mountinfo")
	mountsBefore, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", c.p.Pid))
	before := takeCounts(t)

	if err := h.Attach(filepath.Join(dir, "missing"), "/new/m", false); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing source: %v, want os.ErrNotExist", err)
	}
	hu := c.join(t, namespace.UTS)
	if err := hu.Attach(dir, "/new/u", false); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("a handle without Mount: %v, want os.ErrInvalid", err)
	}
	if err := os.WriteFile(c.inRoot("/data/file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := h.Attach(dir, "/data/file/sub", false); !errors.Is(err, unix.ENOTDIR) {
		t.Errorf("a target under a file: %v, want ENOTDIR", err)
	}
	if err := h.Attach(dir, "/ro/sub", false); !errors.Is(err, unix.EROFS) {
		t.Errorf("a target in a read-only mount: %v, want EROFS", err)
	}
	old := namespace.SetAttachFail(true)
	errDir := h.Attach(dir, "/new/deep/er", false)
	errFile := h.Attach(file, "/data/newfile", true)
	namespace.SetAttachFail(old)
	if errDir == nil || errFile == nil {
		t.Errorf("the failing move_mount: %v, %v", errDir, errFile)
	}
	for _, p := range []string{"/new", "/data/newfile", "/data/file/sub", "/ro/sub"} {
		if _, err := os.Lstat(c.inRoot(p)); !errors.Is(err, os.ErrNotExist) && !errors.Is(err, unix.ENOTDIR) {
			t.Errorf("%s is left in the container: %v", p, err)
		}
	}
	if err := hu.Close(); err != nil {
		t.Error(err)
	}
	checkNoLeak(t, before)
	checkThreadsHome(t)
	if after, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", c.p.Pid)); string(after) != string(mountsBefore) {
		t.Errorf("the container's mounts changed:\n%s\nnow:\n%s", mountsBefore, after)
	}
	if after, _ := os.ReadFile("/proc/self/mountinfo"); string(after) != string(hostBefore) {
		t.Errorf("the caller's mounts changed")
	}
}

// TestAttachUnprivileged: without CAP_SYS_ADMIN, Attach to the caller's own
// container is refused (the kernel lets only a caller privileged in its own
// user namespace clone a mount and enter a mount namespace from a thread),
// with an error matching os.ErrPermission, and leaves nothing.
func TestAttachUnprivileged(t *testing.T) {
	if privileged {
		t.Skip("runs as uid 65534: TestUnprivileged")
	}
	c := startMountContainer(t, true)
	h := c.join(t, namespace.Mount|namespace.User)
	dir, _ := hostVolume(t)
	mountsBefore, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", c.p.Pid))
	before := takeCounts(t)
	err := h.Attach(dir, "/vol", false)
	if !errors.Is(err, os.ErrPermission) {
		t.Errorf("Attach without CAP_SYS_ADMIN: %v, want os.ErrPermission", err)
	}
	t.Log(err)
	checkNoLeak(t, before)
	if _, err := os.Lstat(c.inRoot("/vol")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("/vol is left in the container: %v", err)
	}
	if after, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", c.p.Pid)); string(after) != string(mountsBefore) {
		t.Errorf("the container's mounts changed")
	}
}

// TestAttachNotSupported refuses each call Attach makes, as a kernel that
// lacks it does, on the caller's thread (open_tree, mount_setattr) or on
// Attach's own (openat2, move_mount): an error matching ErrNotSupported
// that names the release, and nothing left behind.
func TestAttachNotSupported(t *testing.T) {
	if !privileged {
		t.Skip("Attach needs CAP_SYS_ADMIN: TestAttachUnprivileged")
	}
	c := startMountContainer(t, true)
	h := c.join(t, namespace.Mount)
	dir, _ := hostVolume(t)
	mountsBefore, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", c.p.Pid))
	before := takeCounts(t)
	for _, tc := range []struct {
		nr       uint32
		onThread bool // on the thread that enters the namespace
		want     string
	}{
		{unix.SYS_OPEN_TREE, false, "Linux 5.2"},
		{unix.SYS_MOUNT_SETATTR, false, "Linux 5.12"},
		{unix.SYS_OPENAT2, true, "Linux 5.6"},
		{unix.SYS_MOVE_MOUNT, true, "Linux 5.2"},
	} {
		rule := syscallRule{nr: tc.nr, errno: unix.ENOSYS}
		var err error
		if tc.onThread {
			old := namespace.SetAttachThreadTestHook(func() {
				if err := filterOnThisThread(rule); err != nil {
					t.Error(err)
				}
			})
			err = h.Attach(dir, "/new/vol", true)
			namespace.SetAttachThreadTestHook(old)
		} else {
			onFilteredThread(t, rule, func() { err = h.Attach(dir, "/new/vol", true) })
		}
		if !errors.Is(err, namespace.ErrNotSupported) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("system call %d refused: %v, want ErrNotSupported naming %s", tc.nr, err, tc.want)
		}
		if _, err := os.Lstat(c.inRoot("/new")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("system call %d refused: /new is left in the container: %v", tc.nr, err)
		}
	}
	checkNoLeak(t, before)
	checkThreadsHome(t)
	if after, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", c.p.Pid)); string(after) != string(mountsBefore) {
		t.Errorf("the container's mounts changed")
	}
}

// ExampleHandle_Attach plugs a host directory into a running container,
// read-only, at a path it creates there; the host's own mounts do not
// change.
func ExampleHandle_Attach() {
	h, err := namespace.Join(4242, namespace.Mount) // the container's PID on the host
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()
	if err := h.Attach("/srv/data", "/mnt/data", true); err != nil {
		fmt.Println(err)
	}
}
