package procfs_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// TestListHeldByMount checks a namespace that only a bind mount holds, as `ip
// netns add` leaves one. The mount is made by a helper process in a private
// mount namespace of its own, so the host's mounts never change.
func TestListHeldByMount(t *testing.T) {
	before := hostMounts(t)
	var out strings.Builder
	opts := namespace.Options{
		Path:   "/proc/self/exe",
		Args:   []string{"procfs.test", "-test.run=^$"},
		Env:    append(os.Environ(), "NSGO_PROCFS_HELPER=bind-mount"),
		New:    procfs.Mount,
		Stdout: &out, Stderr: &out,
	}
	if os.Getuid() != 0 {
		opts.New |= procfs.User
		opts.UIDMap = idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}}
		opts.GIDMap = idmap.Map{{Inside: 0, Outside: uint32(os.Getgid()), Count: 1}}
	}
	p, err := namespace.Spawn(opts)
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait()
	if err != nil || !st.Success() || !strings.Contains(out.String(), "held by mount: ok") {
		t.Errorf("helper: %v %v\n%s", st, err, out.String())
	}
	if after := hostMounts(t); after != before {
		t.Errorf("the host's mounts changed:\n%s\nnow:\n%s", before, after)
	}
}

// hostMounts returns the caller's mountinfo without the mounts under the
// temporary directory, where other packages' tests, which go test runs at
// the same time, mount (namespace's Handle.Bind tests); this test's helper
// mounts only in a namespace of its own.
func hostMounts(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], os.TempDir()+"/") {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "")
}

// bindMountHelper runs in its own mount namespace: it binds a net namespace
// to a file, ends the only process in it, and checks what List says.
func bindMountHelper() int {
	if err := heldByMount(); err != nil {
		fmt.Println("held by mount:", err)
		return 1
	}
	fmt.Println("held by mount: ok")
	return 0
}

func heldByMount() error {
	p, err := namespace.Spawn(namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "60"}, New: procfs.Net})
	if err != nil {
		return err
	}
	id, err := procfs.Lookup(p.Pid, procfs.Net)
	if err != nil {
		p.Kill()
		p.Wait()
		return err
	}
	f, err := os.CreateTemp("", "netns")
	if err != nil {
		p.Kill()
		p.Wait()
		return err
	}
	f.Close()
	defer os.Remove(f.Name())
	err = unix.Mount(fmt.Sprintf("/proc/%d/ns/net", p.Pid), f.Name(), "", unix.MS_BIND, "")
	p.Kill()
	p.Wait()
	if err != nil {
		return fmt.Errorf("bind mount: %w", err)
	}
	defer unix.Unmount(f.Name(), unix.MNT_DETACH)

	list, err := procfs.List(procfs.OfKind(procfs.Net))
	if err != nil {
		return err
	}
	for _, ns := range list {
		if ns.ID != id {
			continue
		}
		if ns.Procs != 0 || ns.PID != 0 || ns.UID != -1 || ns.Path != f.Name() {
			return fmt.Errorf("listed as %+v, want no process and Path %s", ns, f.Name())
		}
		return nil
	}
	return fmt.Errorf("net namespace %v bound to %s is not listed", id, f.Name())
}
