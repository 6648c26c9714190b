package namespace_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// usernsCase is a pair of maps for NewUserNamespace and what setgroups
// shows in the namespace then.
type usernsCase struct {
	name      string
	uid, gid  idmap.Map
	setgroups string
}

// usernsCases are the maps the caller may write: its own IDs always; as
// root, several ranges, one map alone, or none.
func usernsCases() []usernsCase {
	uid, gid := ownMaps()
	deny := "deny"
	if privileged {
		deny = "allow" // CAP_SETGID: Auto leaves setgroups allowed
	}
	cases := []usernsCase{{"own IDs", uid, gid, deny}}
	if privileged {
		cases = append(cases,
			usernsCase{"multi-range", idmap.Map{rng(0, 100000, 65536), rng(65536, 300000, 10), rng(70000, 0, 1)},
				idmap.Map{rng(0, 200000, 1000), rng(1000, 1000, 1)}, "allow"},
			usernsCase{"uid only", idmap.Map{rng(0, 100000, 65536)}, nil, "allow"},
			usernsCase{"gid only", nil, idmap.Map{rng(0, 100000, 65536)}, "allow"},
			usernsCase{"no maps", nil, nil, "allow"},
		)
	}
	return cases
}

// TestNewUserNamespace makes a user namespace on each child path and checks
// it from outside (its kind, owner and parent, by ioctl_ns) and from inside,
// through a program that joins it by Handle.Spawn, and through nsenter(1):
// the maps and setgroups it shows, and its identity.
func TestNewUserNamespace(t *testing.T) {
	self, err := os.Readlink("/proc/self/ns/user")
	if err != nil {
		t.Fatal(err)
	}
	var selfSt unix.Stat_t
	if err := unix.Stat("/proc/self/ns/user", &selfSt); err != nil {
		t.Fatal(err)
	}
	for _, path := range append([]string{""}, namespace.ChildPaths...) {
		for _, c := range usernsCases() {
			t.Run(fmt.Sprintf("%s/%s", pathName(path), c.name), func(t *testing.T) {
				skipOwnStackUnderRaceCover(t, path)
				before := takeCounts(t)
				old := namespace.SetChildPath(path)
				f, err := namespace.NewUserNamespace(c.uid, c.gid)
				namespace.SetChildPath(old)
				if err != nil && strings.Contains(err.Error(), "test: ") {
					t.Skip(err)
				}
				if err != nil {
					t.Fatal(err)
				}
				checkUserns(t, f, c, self, selfSt.Ino)
				f.Close()
				checkNoLeak(t, before)
			})
		}
	}
}

func pathName(path string) string {
	if path == "" {
		return "auto"
	}
	return path
}

// checkUserns checks f, from NewUserNamespace(c.uid, c.gid): a user
// namespace that the caller owns, child of its own (parent, inode
// parentIno, link text parentLink), whose maps read back as c's.
func checkUserns(t *testing.T, f *os.File, c usernsCase, parentLink string, parentIno uint64) {
	t.Helper()
	fd := int(f.Fd())
	kind, err := procfs.KindOf(fd)
	if err != nil || kind != namespace.User {
		t.Fatalf("NS_GET_NSTYPE: %v, %v; want user", kind, err)
	}
	h, err := procfs.ReadHierarchy(fd, namespace.User)
	if err != nil {
		t.Fatal(err)
	}
	if h.OwnerUID != os.Geteuid() {
		t.Errorf("NS_GET_OWNER_UID: %d, want the caller's %d", h.OwnerUID, os.Geteuid())
	}
	if h.Parent.Ino != parentIno || h.Owner.Ino != parentIno {
		t.Errorf("parent %v, owner %v: want the caller's user namespace %s", h.Parent, h.Owner, parentLink)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	link := fmt.Sprintf("user:[%d]", st.Ino)
	if f.Name() != link || link == parentLink {
		t.Errorf("file %q, inode %d: want a new namespace named %q (the caller's is %s)", f.Name(), st.Ino, link, parentLink)
	}

	// Inside: a program that joined it, by Handle.Spawn.
	hd, err := namespace.FromPath(fmt.Sprintf("/proc/self/fd/%d", fd))
	if err != nil {
		t.Fatal(err)
	}
	defer hd.Close()
	var out strings.Builder
	err = waitOK(hd.Spawn(namespace.Options{
		Path: "/bin/sh", Args: []string{"sh", "-c", "readlink /proc/self/ns/user; cat /proc/self/setgroups; echo U; cat /proc/self/uid_map; echo G; cat /proc/self/gid_map"},
		Stdout: &out, Stderr: &out,
	}))
	if err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	gotLink, rest, _ := strings.Cut(out.String(), "\n")
	sg, rest, _ := strings.Cut(rest, "\nU\n")
	uidText, gidText, _ := strings.Cut(rest, "G\n")
	if gotLink != link || sg != c.setgroups {
		t.Errorf("inside: namespace %q, setgroups %q; want %q, %q", gotLink, sg, link, c.setgroups)
	}
	for _, m := range []struct {
		name, text string
		want       idmap.Map
	}{{"uid_map", uidText, c.uid}, {"gid_map", gidText, c.gid}} {
		got, err := idmap.Parse(m.text)
		if err != nil || !cmp.Equal(got, m.want, cmp.Comparer(func(a, b idmap.Map) bool { return a.String() == b.String() })) {
			t.Errorf("inside, %s %q (%v): want %q", m.name, m.text, err, m.want.String())
		}
	}

	// The same through nsenter, which enters /proc/self/fd/3.
	if _, err := exec.LookPath("nsenter"); err == nil {
		cmd := exec.Command("nsenter", "--user=/proc/self/fd/3", "--preserve-credentials", "cat", "/proc/self/uid_map")
		cmd.ExtraFiles = []*os.File{f}
		got, err := cmd.CombinedOutput()
		if err != nil || string(got) != uidText {
			t.Errorf("nsenter: %q %v, want %q", got, err, uidText)
		}
	}
}

// TestNewUserNamespaceRepeat makes and drops 200 namespaces on each path:
// no child, zombie, descriptor or thread remains, and no two live ones are
// the same.
func TestNewUserNamespaceRepeat(t *testing.T) {
	for _, path := range append([]string{""}, namespace.ChildPaths...) {
		t.Run(pathName(path), func(t *testing.T) {
			skipOwnStackUnderRaceCover(t, path)
			defer namespace.SetChildPath(namespace.SetChildPath(path))
			uid, gid := rootMaps()
			before := takeCounts(t)
			var prev *os.File
			for i := range 200 {
				f, err := namespace.NewUserNamespace(uid, gid)
				if err != nil && strings.Contains(err.Error(), "test: ") {
					t.Skip(err)
				}
				if err != nil {
					t.Fatalf("%d: %v", i, err)
				}
				if prev != nil {
					if f.Name() == prev.Name() {
						t.Fatalf("%d: %s twice while both are open", i, f.Name())
					}
					prev.Close()
				}
				prev = f
			}
			prev.Close()
			checkNoLeak(t, before)
		})
	}
}

// TestNewUserNamespaceConcurrent makes namespaces from several goroutines
// while others spawn programs, for the race detector and the leak counts.
func TestNewUserNamespaceConcurrent(t *testing.T) {
	uid, gid := rootMaps()
	before := takeCounts(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 6 {
		wg.Go(func() {
			for range 30 {
				if g%2 == 1 {
					if err := waitOK(namespace.Spawn(namespace.Options{Path: "/bin/true", New: namespace.User, UIDMap: uid, GIDMap: gid})); err != nil {
						errs <- err
						return
					}
					continue
				}
				f, err := namespace.NewUserNamespace(uid, gid)
				if err != nil {
					errs <- err
					return
				}
				if kind, err := procfs.KindOf(int(f.Fd())); err != nil || kind != namespace.User {
					errs <- fmt.Errorf("kind %v, %v", kind, err)
				}
				f.Close()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkNoLeakThreads(t, before, 8)
}

// TestNewUserNamespaceBadMaps gives maps that cannot work: each is an error
// naming the map and the problem, and nothing remains. Invalid maps are
// refused before any clone (the hook that runs after the clone never
// runs); maps that the kernel or newuidmap refuses, and a child that
// someone else reaped before its maps were written, fail after it, and the
// child is gone too.
func TestNewUserNamespaceBadMaps(t *testing.T) {
	uid, gid := ownMaps()
	type badCase struct {
		name       string
		uid, gid   idmap.Map
		reap       bool     // the hook reaps the child before its maps are written
		afterClone bool     // the error comes after the clone
		want       []string // in the error
		is         error    // errors.Is
	}
	cases := []badCase{
		{name: "empty uid map", uid: idmap.Map{}, gid: gid, want: []string{"new user namespace: UIDMap: idmap: empty map"}},
		{name: "zero count", uid: uid, gid: idmap.Map{rng(0, 1000, 0)}, want: []string{"new user namespace: GIDMap:", "count is zero"}},
		{name: "overlap", uid: idmap.Map{rng(0, 100000, 10), rng(5, 200000, 10)}, want: []string{"new user namespace: UIDMap:", "inside IDs overlap range 0"}},
		{name: "reserved", uid: idmap.Map{rng(0, 4294967295, 1)}, want: []string{"new user namespace: UIDMap:", "outside ID 4294967295 is reserved"}},
		{name: "child reaped", uid: uid, gid: gid, reap: true, afterClone: true,
			want: []string{"new user namespace: open /proc/"}, is: os.ErrNotExist},
	}
	if !privileged {
		// Someone else's IDs, with no /etc/subuid delegation here.
		cases = append(cases, badCase{name: "not delegated", uid: idmap.Map{rng(0, 0, 1)}, gid: gid, afterClone: true,
			want: []string{"new user namespace: idmap: mapping \"0 0 1\"", "/etc/subuid"}, is: os.ErrPermission})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cloned := false
			namespace.SetBeforeMapsTestHook(func(pid int) {
				cloned = true
				if c.reap {
					unix.Kill(pid, unix.SIGKILL)
					var ws unix.WaitStatus
					unix.Wait4(pid, &ws, 0, nil)
				}
			})
			defer namespace.SetBeforeMapsTestHook(nil)
			before := takeCounts(t)
			f, err := namespace.NewUserNamespace(c.uid, c.gid)
			if err == nil {
				f.Close()
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q does not match %v", err, c.is)
			}
			if cloned != c.afterClone {
				t.Errorf("cloned: %v, want %v", cloned, c.afterClone)
			}
			checkNoLeak(t, before)
		})
	}
}

// TestNewUserNamespaceChildKilled kills the child before its maps are
// written, as any signal could: a dead child that is not reaped still
// holds its namespace, which gets its maps and is returned, as root; a
// caller without privilege may not write the maps of a process without
// memory, and gets an error that says the child died. The child is reaped
// either way.
func TestNewUserNamespaceChildKilled(t *testing.T) {
	self, _ := os.Readlink("/proc/self/ns/user")
	var selfSt unix.Stat_t
	if err := unix.Stat("/proc/self/ns/user", &selfSt); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"own stack", "copy"} {
		t.Run(path, func(t *testing.T) {
			skipOwnStackUnderRaceCover(t, path)
			zombie := false
			namespace.SetBeforeMapsTestHook(func(pid int) {
				unix.Kill(pid, unix.SIGKILL)
				for range 10000 {
					b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
					if zombie = strings.Contains(string(b), ") Z "); zombie {
						return
					}
				}
			})
			defer namespace.SetBeforeMapsTestHook(nil)
			c := usernsCases()[len(usernsCases())-1]
			if privileged {
				c = usernsCases()[1] // multi-range
			}
			before := takeCounts(t)
			old := namespace.SetChildPath(path)
			f, err := namespace.NewUserNamespace(c.uid, c.gid)
			namespace.SetChildPath(old)
			if !zombie {
				t.Error("the child never showed as a zombie")
			}
			if !privileged {
				const want = "new user namespace: the child holding the namespace exited (killed by SIGKILL) before its ID maps were written and its namespace opened: open /proc/"
				if err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, os.ErrPermission) {
					t.Errorf("error %v, want %q... matching os.ErrPermission", err, want)
				}
				if f != nil {
					f.Close()
				}
				checkNoLeak(t, before)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkUserns(t, f, c, self, selfSt.Ino)
			f.Close()
			checkNoLeak(t, before)
		})
	}
}

// TestNewUserNamespaceIdmappedMount uses a namespace from NewUserNamespace as
// the map of an idmapped mount (open_tree, mount_setattr with
// MOUNT_ATTR_IDMAP): a file that root owns on disk shows, through the
// detached mount, as the outside ID that the map gives inside ID 0. The
// mount is never attached: the host's mounts do not change.
func TestNewUserNamespaceIdmappedMount(t *testing.T) {
	if !privileged {
		t.Skip("mount_setattr needs CAP_SYS_ADMIN over the mount's namespace")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(dir, "file"), 0, 5); err != nil {
		t.Fatal(err)
	}
	hostMounts, _ := os.ReadFile("/proc/self/mountinfo")
	before := takeCounts(t)
	f, err := namespace.NewUserNamespace(idmap.Map{rng(0, 100000, 65536)}, idmap.Map{rng(0, 200000, 65536)})
	if err != nil {
		t.Fatal(err)
	}
	tree, err := unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		t.Fatal("open_tree:", err)
	}
	err = unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(f.Fd())})
	f.Close() // the mount holds the namespace
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		unix.Close(tree)
		t.Skip("no idmapped mounts of this file system here:", err)
	}
	if err != nil {
		unix.Close(tree)
		t.Fatal("mount_setattr:", err)
	}
	var st unix.Stat_t
	err = unix.Fstatat(tree, "file", &st, 0)
	unix.Close(tree)
	if err != nil {
		t.Fatal(err)
	}
	if st.Uid != 100000 || st.Gid != 200005 {
		t.Errorf("through the idmapped mount the file is %d:%d, want 100000:200005", st.Uid, st.Gid)
	}
	if now, _ := os.ReadFile("/proc/self/mountinfo"); string(now) != string(hostMounts) {
		t.Error("host mounts changed")
	}
	checkNoLeak(t, before)
}

// TestNewUserNamespaceSubIDs maps, as uid 65534, its own ID and ranges that
// /etc/subuid and /etc/subgid delegate to it, through newuidmap and
// newgidmap. The delegation exists only in a private mount namespace,
// where the test, as root, binds a copy of /etc over /etc and re-runs
// itself as uid 65534 (NSGO_USERNS_SUBIDS says which part runs).
func TestNewUserNamespaceSubIDs(t *testing.T) {
	switch os.Getenv("NSGO_USERNS_SUBIDS") {
	case "setup":
		usernsSubIDsSetup(t)
		return
	case "run":
		usernsSubIDsRun(t)
		return
	}
	if !privileged {
		t.Skip("needs root to set up /etc/subuid in a private mount namespace; the part as uid 65534 runs inside it")
	}
	for _, tool := range []string{"newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool, "not installed (the uidmap package; .ci/run installs it):", err)
		}
	}
	hostMounts, _ := os.ReadFile("/proc/self/mountinfo")
	var out strings.Builder
	err := waitOK(namespace.Spawn(namespace.Options{
		Path: "/proc/self/exe", Args: []string{"namespace.test", "-test.run=^TestNewUserNamespaceSubIDs$", "-test.v", "-test.count=1"},
		Env: withEnv("NSGO_USERNS_SUBIDS=setup"), New: namespace.Mount, Stdout: &out, Stderr: &out,
	}))
	if err != nil || !strings.Contains(out.String(), "usernsSubIDsRun: ok") {
		t.Errorf("%v\n%s", err, out.String())
	}
	if now, _ := os.ReadFile("/proc/self/mountinfo"); string(now) != string(hostMounts) {
		t.Error("host mounts changed")
	}
}

// usernsSubIDsSetup runs as root in a private mount namespace.
func usernsSubIDsSetup(t *testing.T) {
	tmp := t.TempDir()
	etc := filepath.Join(tmp, "etc")
	if out, err := exec.Command("cp", "-a", "/etc", etc).CombinedOutput(); err != nil {
		t.Fatalf("cp -a /etc: %v: %s", err, out)
	}
	for _, f := range []string{"subuid", "subgid"} {
		if err := os.WriteFile(filepath.Join(etc, f), []byte("nobody:100000:65536\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mount(etc, "/etc", "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount("/etc", unix.MNT_DETACH)
	err := waitOK(namespace.Spawn(namespace.Options{
		Path: "/proc/self/exe", Args: []string{"namespace.test", "-test.run=^TestNewUserNamespaceSubIDs$", "-test.v", "-test.count=1"},
		Env: withEnv("NSGO_USERNS_SUBIDS=run"), Dir: "/",
		Credential: &namespace.Credential{UID: 65534, GID: 65534},
		Stdout:     os.Stdout, Stderr: os.Stderr,
	}))
	if err != nil {
		t.Fatal("as uid 65534:", err)
	}
}

// usernsSubIDsRun runs as uid 65534 where /etc/subuid delegates
// 100000-165535 to it.
func usernsSubIDsRun(t *testing.T) {
	if os.Geteuid() != 65534 {
		t.Fatalf("running as %d", os.Geteuid())
	}
	var selfSt unix.Stat_t
	if err := unix.Stat("/proc/self/ns/user", &selfSt); err != nil {
		t.Fatal(err)
	}
	self, _ := os.Readlink("/proc/self/ns/user")
	m := idmap.Map{rng(0, 65534, 1), rng(1, 100000, 65536)}
	before := takeCounts(t)
	for range 20 {
		f, err := namespace.NewUserNamespace(m, m)
		if err != nil {
			t.Fatal(err)
		}
		checkUserns(t, f, usernsCase{uid: m, gid: m, setgroups: "allow"}, self, selfSt.Ino)
		f.Close()
	}
	// A range not delegated: newuidmap refuses, the error says which.
	f, err := namespace.NewUserNamespace(idmap.Map{rng(0, 65534, 1), rng(1, 300000, 10)}, nil)
	if err == nil {
		f.Close()
		t.Fatal("an undelegated range was mapped")
	}
	if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "300000-300009 not delegated to user 65534 in /etc/subuid") {
		t.Errorf("undelegated range: %v", err)
	}
	checkNoLeak(t, before)
	if !t.Failed() {
		fmt.Println("usernsSubIDsRun: ok")
	}
}

// BenchmarkNewUserNamespace makes a user namespace with rootMaps and closes
// it: on each child path, and, to compare, the ways to get the same without
// it: Spawn of a program that waits (sleep) in a new user namespace, open
// its /proc/PID/ns/user, kill it and wait; and, for scale, Spawn of
// /bin/true with the same maps, and unshare -r true from os/exec.
func BenchmarkNewUserNamespace(b *testing.B) {
	uid, gid := rootMaps()
	for _, path := range []string{"own stack", "copy"} {
		b.Run(path, func(b *testing.B) {
			defer namespace.SetChildPath(namespace.SetChildPath(path))
			for b.Loop() {
				f, err := namespace.NewUserNamespace(uid, gid)
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
	b.Run("spawn sleep, open, kill", func(b *testing.B) {
		for b.Loop() {
			p, err := namespace.Spawn(namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "1000"}, New: namespace.User, UIDMap: uid, GIDMap: gid})
			if err != nil {
				b.Fatal(err)
			}
			f, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", p.Pid))
			p.Kill()
			p.Wait()
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("spawn true", func(b *testing.B) {
		for b.Loop() {
			if err := waitOK(namespace.Spawn(namespace.Options{Path: "/bin/true", New: namespace.User, UIDMap: uid, GIDMap: gid})); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unshare true", func(b *testing.B) {
		// One ID each (--map-users takes newuidmap and /etc/subuid, even
		// for root).
		args := []string{"--user", "--map-root-user", "true"}
		if _, err := exec.LookPath("unshare"); err != nil {
			b.Skip(err)
		}
		for b.Loop() {
			if out, err := exec.Command("unshare", args...).CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		}
	})
}
