package procfs_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// readings reads the calling process's namespaces with every call of procfs
// that gives an ID, and returns them by kind, each labelled with its source.
func readings(t *testing.T) map[procfs.Kind]map[string]procfs.ID {
	t.Helper()
	pid := os.Getpid()
	out := map[procfs.Kind]map[string]procfs.ID{}
	add := func(k procfs.Kind, src string, id procfs.ID) {
		if out[k] == nil {
			out[k] = map[string]procfs.ID{}
		}
		out[k][src] = id
	}
	ns, err := procfs.Namespaces(pid)
	if err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	thread, err := procfs.ThreadNamespaces()
	runtime.UnlockOSThread()
	if err != nil {
		t.Fatal(err)
	}
	list, err := procfs.List(procfs.OfPID(pid), procfs.WithHierarchy())
	if err != nil {
		t.Fatal(err)
	}
	for k := range procfs.Supported().Each() {
		add(k, "Namespaces", ns[k])
		add(k, "ThreadNamespaces", thread[k])
		id, err := procfs.Lookup(pid, k)
		if err != nil {
			t.Fatal(err)
		}
		add(k, "Lookup", id)
		path := "/proc/self/ns/" + k.String()
		if id, err = procfs.Stat(path); err != nil {
			t.Fatal(err)
		}
		add(k, "Stat", id)
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if id, err = procfs.StatFD(fd); err != nil {
			t.Fatal(err)
		}
		add(k, "StatFD", id)
		// The kernel's NS_GET_ID, where procfs uses namespace IDs.
		var nsid uint64
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.NS_GET_ID, uintptr(unsafe.Pointer(&nsid))); e == 0 && procfs.HaveNSID() {
			add(k, "NS_GET_ID", procfs.ID{Dev: id.Dev, Ino: id.Ino, NSID: nsid})
		}
		unix.Close(fd)
	}
	for _, n := range list {
		add(n.Kind, "List", n.ID)
		if n.Kind != procfs.User && n.HierarchyErr == nil && n.Owner != (procfs.ID{}) {
			add(procfs.User, "List Owner of "+n.Kind.String(), n.Owner)
		}
	}
	if fc, err := procfs.ForChildren(pid); err == nil {
		for k, id := range fc {
			add(k, "ForChildren", id)
		}
	}
	return out
}

// TestIDsAgree reads the process's namespaces with every call that gives an
// ID: all readings of one namespace are equal, and carry the NSID that
// NS_GET_ID gives where the kernel has it (Linux 6.18); with file handles
// forced off, as before 6.18, they are equal too and carry none.
func TestIDsAgree(t *testing.T) {
	for _, noHandles := range []bool{false, true} {
		name := map[bool]string{false: "default", true: "before 6.18"}[noHandles]
		t.Run(name, func(t *testing.T) {
			old := procfs.SetNoHandles(noHandles)
			defer procfs.SetNoHandles(old)
			withNSID := procfs.HaveNSID()
			if !noHandles && !withNSID {
				t.Log("this kernel has no namespace IDs (Linux 6.18)")
			}
			if noHandles && withNSID {
				t.Fatal("HaveNSID with file handles forced off")
			}
			for k, by := range readings(t) {
				var first procfs.ID
				var firstSrc string
				for src, id := range by {
					if (id.NSID != 0) != withNSID {
						t.Errorf("%s from %s: %v; want NSID set %v", k, src, id, withNSID)
					}
					if first == (procfs.ID{}) {
						first, firstSrc = id, src
						continue
					}
					if id != first {
						t.Errorf("%s: %s gives %v, %s %v", k, src, id, firstSrc, first)
					}
				}
				if withNSID && len(by) < 7 {
					t.Errorf("%s: only %d readings: %v", k, len(by), by)
				}
			}
		})
	}
}

// TestUnprivileged re-runs the tests as uid 65534 with -test.short.
func TestUnprivileged(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("already unprivileged")
	}
	if os.Getenv("NSGO_NO_REEXEC") != "" {
		t.Skip("NSGO_NO_REEXEC is set")
	}
	var out strings.Builder
	p, err := namespace.Spawn(namespace.Options{
		Path:       "/proc/self/exe",
		Args:       []string{"procfs.test", "-test.v", "-test.count=1", "-test.short"},
		Env:        append(os.Environ(), "NSGO_NO_REEXEC=1"),
		Dir:        "/",
		Credential: &namespace.Credential{UID: 65534, GID: 65534},
		Stdout:     &out, Stderr: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait()
	if err != nil || !st.Success() {
		t.Fatalf("tests as uid 65534: %v %v\n%s", st, err, out.String())
	}
	if !strings.Contains(out.String(), "--- PASS: TestIDsAgree") {
		t.Fatalf("as uid 65534 TestIDsAgree did not pass:\n%s", out.String())
	}
	t.Logf("as uid 65534: %d passed, %d skipped", strings.Count(out.String(), "--- PASS"), strings.Count(out.String(), "--- SKIP"))
}

// TestSupportedWithoutProc: the kinds a pidfd opens, which Supported gives
// where /proc is not mounted, are those of /proc/self/ns.
func TestSupportedWithoutProc(t *testing.T) {
	got := procfs.SupportedViaPidfd()
	if got == 0 {
		t.Skip("the kernel has no PIDFD_GET_*_NAMESPACE ioctls (Linux 6.11)")
	}
	if got != procfs.Supported() {
		t.Errorf("via a pidfd: %s; /proc/self/ns: %s", got, procfs.Supported())
	}
}

// TestHandlesAgree: package namespace's handles give the IDs that procfs
// gives, with namespace IDs and, forced off, without them as before Linux
// 6.18; and Do and Spawn still recognise the namespaces a thread is in.
func TestHandlesAgree(t *testing.T) {
	for _, noHandles := range []bool{false, true} {
		name := map[bool]string{false: "default", true: "before 6.18"}[noHandles]
		t.Run(name, func(t *testing.T) {
			old := procfs.SetNoHandles(noHandles)
			defer procfs.SetNoHandles(old)
			self, err := namespace.Current(namespace.All)
			if err != nil {
				t.Fatal(err)
			}
			defer self.Close()
			mine, err := procfs.Namespaces(os.Getpid())
			if err != nil {
				t.Fatal(err)
			}
			for k, id := range self.IDs() {
				if id != mine[k] || (id.NSID != 0) != procfs.HaveNSID() {
					t.Errorf("%s: Current %v, procfs %v", k, id, mine[k])
				}
			}
			// Spawn enters none of them: not its own user namespace,
			// which setns refuses.
			p, err := self.Spawn(namespace.Options{Path: "/bin/true"})
			if err == nil {
				_, err = p.Wait()
			}
			if err != nil {
				t.Errorf("Spawn in the process's own namespaces: %v", err)
			}
			if os.Getuid() != 0 {
				return
			}
			h, inside := threadInNewUTS(t)
			if inside[procfs.UTS] != h.IDs()[procfs.UTS] || inside[procfs.Net] != mine[procfs.Net] {
				t.Errorf("in Do: uts %v, net %v; want the handle's %v and the process's %v",
					inside[procfs.UTS], inside[procfs.Net], h.IDs()[procfs.UTS], mine[procfs.Net])
			}
		})
	}
}

// TestStatLongPath: a path longer than the buffer for /proc's short names,
// a symbolic link to a namespace file, gives the same ID; a plain file there
// is no namespace.
func TestStatLongPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 200), strings.Repeat("e", 100))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	link, plain := filepath.Join(dir, "net"), filepath.Join(dir, "plain")
	if err := os.Symlink("/proc/self/ns/net", link); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := procfs.Lookup(os.Getpid(), procfs.Net)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := procfs.Stat(link); err != nil || got != want {
		t.Errorf("Stat(%d-byte path) = %v, %v; want %v", len(link), got, err, want)
	}
	if _, err := procfs.Stat(plain); err == nil || !strings.Contains(err.Error(), "not a namespace file") {
		t.Errorf("Stat(plain file) = %v, want not a namespace file", err)
	}
	if _, err := procfs.Stat("/proc/self/ns/net\x00x"); err == nil {
		t.Error("Stat of a path with a NUL succeeded")
	}
}
