package namespace_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// Options.Cgroup: the program is born in a cgroup v2 directory that the
// test makes for itself, checked from outside (/proc/PID/cgroup) on every
// child path, with and without user, PID and cgroup namespaces, for Spawn
// and Handle.Spawn (whose child forks the program into a PID namespace);
// bad input and a kernel (or seccomp profile) without CLONE_INTO_CGROUP
// give clear errors and leave nothing behind, and every test cgroup is
// removed at the end, which proves nothing stayed in it.

// envCgroupDelegated names, in TestCgroupDelegated's rerun as uid 65534, the
// cgroup delegated to that user, under which the tests make theirs.
const envCgroupDelegated = "NSGO_CGROUP_DELEGATED"

// cgroup2Mount returns where the cgroup v2 hierarchy is mounted and which
// cgroup is at its root, from /proc/self/mountinfo; "" if it is not.
func cgroup2Mount(t testing.TB) (dir, root string) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f := strings.Fields(pre)
		if !ok || len(f) < 5 || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		return f[4], f[3]
	}
	return "", ""
}

// procCgroup returns the cgroup v2 path of process pid ("/a/b"), from
// /proc/PID/cgroup, as the caller's cgroup namespace shows it.
func procCgroup(t testing.TB, pid string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p
		}
	}
	t.Fatalf("/proc/%s/cgroup has no cgroup v2 line:\n%s", pid, b)
	return ""
}

// cgroupDirOf returns the directory of cgroup path cg under the cgroup2
// mount.
func cgroupDirOf(t testing.TB, cg string) string {
	t.Helper()
	mnt, root := cgroup2Mount(t)
	if mnt == "" {
		t.Skip("no cgroup2 file system mounted")
	}
	rel, ok := strings.CutPrefix(cg, strings.TrimSuffix(root, "/"))
	if !ok {
		t.Skipf("cgroup %s is outside the cgroup2 mount's root %s", cg, root)
	}
	return filepath.Join(mnt, rel)
}

// cgroupPathOf is the inverse of cgroupDirOf.
func cgroupPathOf(t testing.TB, dir string) string {
	t.Helper()
	mnt, root := cgroup2Mount(t)
	rel, err := filepath.Rel(mnt, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		t.Fatalf("%s is not under the cgroup2 mount %s", dir, mnt)
	}
	return filepath.Join(root, rel)
}

// skipUnderSeccomp skips a test that needs CLONE_INTO_CGROUP under the
// clone3 seccomp launcher, where TestCgroupNotSupported checks the error.
func skipUnderSeccomp(t *testing.T) {
	t.Helper()
	if name := os.Getenv("NSGO_SECCOMP_CLONE3"); name != "" {
		t.Skipf("clone3 answers %s under the seccomp launcher: TestCgroupNotSupported checks the error", name)
	}
}

var cgroupSeq atomic.Int32

// testCgroup makes a cgroup of the test's own, a child of the cgroup this
// process is in (which holds a process, so has no controllers enabled below
// it, and may have children: cgroup v2's rule is about the children that
// hold processes) or of the delegated one in TestCgroupDelegated's rerun.
// It is removed when the test ends, which fails if anything is left in it.
func testCgroup(t *testing.T) string {
	t.Helper()
	skipUnderSeccomp(t)
	parent := os.Getenv(envCgroupDelegated)
	if parent == "" {
		parent = cgroupDirOf(t, procCgroup(t, "self"))
	}
	dir := filepath.Join(parent, fmt.Sprintf("nsgo-test-%d-%d", os.Getpid(), cgroupSeq.Add(1)))
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, os.ErrPermission) {
			t.Skipf("cannot make a cgroup under %s: %v (as uid 65534, TestCgroupDelegated runs the cgroup tests in a cgroup delegated to it)", parent, err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { removeCgroup(t, dir) })
	return dir
}

// removeCgroup removes dir, failing the test if a process is left in it.
func removeCgroup(t testing.TB, dir string) {
	t.Helper()
	procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err := unix.Rmdir(dir); err != nil {
		t.Errorf("rmdir %s: %v; cgroup.procs: %q", dir, err, procs)
	}
}

// cgroupConfig is one row of the tests: namespaces, and maps for a user
// namespace.
type cgroupConfig struct {
	name     string
	new      namespace.Kind
	maps     bool
	root     bool   // needs root
	inside   string // the program's own view of its cgroup; "" for the outside one
	onlyPath string // the one child path that can take it
}

func cgroupConfigs() []cgroupConfig {
	return []cgroupConfig{
		{name: "none"},
		{name: "user", new: namespace.User, maps: true},
		{name: "user+pid+mount", new: namespace.User | namespace.PID | namespace.Mount, maps: true},
		// The new cgroup namespace's root is the program's cgroup, not the
		// caller's, which the kernel sees to (cgroup_post_fork).
		{name: "user+cgroup", new: namespace.User | namespace.Cgroup, maps: true, inside: "/"},
		{name: "pid+uts", new: namespace.PID | namespace.UTS, root: true},
		{name: "cgroup", new: namespace.Cgroup, root: true, inside: "/"},
		{name: "user+time", new: namespace.User | namespace.Time, maps: true, onlyPath: "copy"},
	}
}

// spawnInCgroup starts a shell that prints its own view of its cgroup and
// waits for a line; it returns the Process, the write end of its input and
// its output. A "test: " refusal of the forced child path skips.
func spawnInCgroup(t *testing.T, h *namespace.Handle, opts namespace.Options) (*namespace.Process, *os.File, *strings.Builder) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := new(strings.Builder)
	opts.Path = "/bin/sh"
	opts.Args = []string{"sh", "-c", "grep ^0:: /proc/self/cgroup; read x; exit 0"}
	opts.Stdin, opts.Stdout, opts.Stderr = r, out, out
	var p *namespace.Process
	if h != nil {
		p, err = h.Spawn(opts)
	} else {
		p, err = namespace.Spawn(opts)
	}
	if err != nil {
		w.Close()
		if strings.Contains(err.Error(), ": test: ") {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	return p, w, out
}

// finish releases the program and checks that it exited 0.
func finish(t *testing.T, p *namespace.Process, w *os.File, out *strings.Builder) {
	t.Helper()
	w.Close()
	st, err := p.Wait()
	if err != nil || !st.Success() {
		t.Errorf("program: %v %v\n%s", st, err, out)
	}
}

// TestCgroupEveryPath starts the program in a cgroup of its own on every
// child path, with and without new namespaces, by Path and by File, and
// looks at /proc/PID/cgroup from outside while it runs.
func TestCgroupEveryPath(t *testing.T) {
	for _, path := range namespace.ChildPaths {
		t.Run(path, func(t *testing.T) {
			skipOwnStackUnderRaceCover(t, path)
			defer namespace.SetChildPath(namespace.SetChildPath(path))
			for _, c := range cgroupConfigs() {
				for _, byFile := range []bool{false, true} {
					name := c.name
					if byFile {
						name += "/file"
					}
					t.Run(name, func(t *testing.T) {
						if c.root && !privileged {
							t.Skip("needs root: namespaces without a user namespace")
						}
						if c.onlyPath != "" && c.onlyPath != path {
							t.Skipf("%s: only the %s child enters a time namespace", c.name, c.onlyPath)
						}
						dir := testCgroup(t)
						ownBefore := procCgroup(t, "self")
						opts := namespace.Options{New: c.new}
						if c.maps {
							// With setgroups denied, the vfork child writes its maps itself.
							opts.UIDMap, opts.GIDMap = ownMaps()
							opts.SetGroups = idmap.Deny
						}
						if c.new.Has(namespace.PID) && c.new.Has(namespace.Mount) {
							opts.MountProc = true
						}
						if byFile {
							f, err := os.Open(dir)
							if err != nil {
								t.Fatal(err)
							}
							defer f.Close()
							opts.Cgroup.File = f
						} else {
							opts.Cgroup.Path = dir
						}
						before := takeCounts(t)
						p, w, out := spawnInCgroup(t, nil, opts)
						pid := fmt.Sprint(p.Pid)
						if got, want := procCgroup(t, pid), cgroupPathOf(t, dir); got != want {
							t.Errorf("program %s is in cgroup %s, want %s", pid, got, want)
						}
						if got := procCgroup(t, "self"); got != ownBefore {
							t.Errorf("the test process moved from cgroup %s to %s", ownBefore, got)
						}
						finish(t, p, w, out)
						want := cgroupPathOf(t, dir)
						if c.inside != "" {
							want = c.inside
						}
						if got := strings.TrimSpace(out.String()); got != "0::"+want {
							t.Errorf("the program sees %q, want %q", got, "0::"+want)
						}
						checkNoLeak(t, before)
					})
				}
			}
		})
	}
}

// TestCgroupHandleSpawn starts the program through Handle.Spawn into the
// PID namespace (and others) of a target that util-linux's unshare made:
// the child, born in the cgroup, forks the program, which must be there
// too, and the program's Process is that second process.
func TestCgroupHandleSpawn(t *testing.T) {
	tpid := unshareTarget(t)
	for _, path := range namespace.ChildPaths {
		t.Run(path, func(t *testing.T) {
			skipOwnStackUnderRaceCover(t, path)
			defer namespace.SetChildPath(namespace.SetChildPath(path))
			for _, kinds := range []namespace.Kind{namespace.PID | namespace.User, namespace.All &^ namespace.Time, namespace.Net | namespace.User} {
				t.Run(kinds.String(), func(t *testing.T) {
					if kinds.Has(namespace.PID) && kinds != namespace.PID|namespace.User && !privileged {
						t.Skip("joining every kind of another user's namespaces needs root")
					}
					dir := testCgroup(t)
					h, err := namespace.Join(tpid, kinds)
					if err != nil {
						t.Fatal(err)
					}
					defer h.Close()
					before := takeCounts(t)
					p, w, out := spawnInCgroup(t, h, namespace.Options{Cgroup: namespace.CgroupDir{Path: dir}})
					pid := fmt.Sprint(p.Pid)
					if got, want := procCgroup(t, pid), cgroupPathOf(t, dir); got != want {
						t.Errorf("program %s is in cgroup %s, want %s", pid, got, want)
					}
					if kinds.Has(namespace.PID) {
						// The program's process, not the child that forked it.
						ns, err := procfs.Namespaces(p.Pid)
						want, _ := procfs.Namespaces(tpid)
						if err != nil || ns[namespace.PID] != want[namespace.PID] {
							t.Errorf("program %d in PID namespace %v (%v), the target's is %v", p.Pid, ns[namespace.PID], err, want[namespace.PID])
						}
					}
					finish(t, p, w, out)
					checkNoLeak(t, before)
				})
			}
		})
	}
}

// TestCgroupBadInput gives Cgroup what cannot work: each is an error naming
// Cgroup, before any clone or from clone3, with nothing left behind and the
// test cgroup still removable.
func TestCgroupBadInput(t *testing.T) {
	mnt, _ := cgroup2Mount(t)
	if mnt == "" {
		t.Skip("no cgroup2 file system mounted")
	}
	regular, err := os.Open("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	closed, err := os.Open(mnt)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	tmp := t.TempDir()
	type bad struct {
		name string
		cg   func(t *testing.T) namespace.CgroupDir
		is   error  // what the error matches
		says string // what it says
		// clone says that clone3 gives the error; the rest are found
		// before any clone.
		clone bool
	}
	cases := []bad{
		{"both", func(t *testing.T) namespace.CgroupDir {
			f, err := os.Open(mnt)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return namespace.CgroupDir{Path: mnt, File: f}
		}, nil, "both Path and File", false},
		{"missing", func(t *testing.T) namespace.CgroupDir {
			return namespace.CgroupDir{Path: filepath.Join(mnt, "nsgo-no-such-cgroup")}
		}, os.ErrNotExist, "nsgo-no-such-cgroup", false},
		{"regular file path", func(t *testing.T) namespace.CgroupDir {
			return namespace.CgroupDir{Path: filepath.Join(mnt, "cgroup.procs")}
		}, unix.ENOTDIR, "not a directory", false},
		{"regular file", func(t *testing.T) namespace.CgroupDir { return namespace.CgroupDir{File: regular} },
			unix.ENOTDIR, "not a directory", false},
		{"closed file", func(t *testing.T) namespace.CgroupDir { return namespace.CgroupDir{File: closed} },
			os.ErrClosed, "Cgroup.File", false},
		{"not cgroup2", func(t *testing.T) namespace.CgroupDir { return namespace.CgroupDir{Path: tmp} },
			nil, "not a cgroup v2 directory", false},
		{"removed", func(t *testing.T) namespace.CgroupDir {
			d := testCgroup(t)
			f, err := os.Open(d)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			if err := unix.Rmdir(d); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(d, 0o755); err != nil { // for the cleanup
				t.Fatal(err)
			}
			return namespace.CgroupDir{File: f}
		}, os.ErrNotExist, "removed", true},
	}
	if v1 := "/sys/fs/cgroup/pids"; isFSType(v1, unix.CGROUP_SUPER_MAGIC) {
		cases = append(cases, bad{"cgroup v1", func(t *testing.T) namespace.CgroupDir { return namespace.CgroupDir{Path: v1} },
			nil, "cgroup v1", false})
	}
	if !privileged {
		// The cgroup this process is in, which uid 65534 may not write to
		// unless it was delegated.
		if own := cgroupDirOf(t, procCgroup(t, "self")); unix.Access(filepath.Join(own, "cgroup.procs"), unix.W_OK) != nil {
			cases = append(cases, bad{"no permission", func(t *testing.T) namespace.CgroupDir { return namespace.CgroupDir{Path: own} },
				os.ErrPermission, "write permission", true})
		}
	}
	for _, path := range namespace.ChildPaths {
		t.Run(path, func(t *testing.T) {
			skipOwnStackUnderRaceCover(t, path)
			defer namespace.SetChildPath(namespace.SetChildPath(path))
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					if c.clone {
						skipUnderSeccomp(t)
					}
					cg := c.cg(t)
					mounts := hostMountinfo(t)
					before := takeCounts(t)
					opts := namespace.Options{Path: "/bin/true", Cgroup: cg}
					if path == "own stack" {
						opts.New = namespace.User
						opts.UIDMap, opts.GIDMap = ownMaps()
					}
					p, err := namespace.Spawn(opts)
					if err == nil {
						p.Wait()
						t.Fatalf("Spawn with Cgroup %+v: no error", cg)
					}
					if strings.Contains(err.Error(), ": test: ") {
						t.Skip(err)
					}
					if !strings.Contains(err.Error(), "Cgroup") || !strings.Contains(err.Error(), c.says) {
						t.Errorf("error %q: want one naming Cgroup and saying %q", err, c.says)
					}
					t.Log(err)
					if fromClone := strings.Contains(err.Error(), "clone3"); fromClone != c.clone {
						t.Errorf("error %q: from clone3 %v, want %v", err, fromClone, c.clone)
					}
					if c.is != nil && !errors.Is(err, c.is) {
						t.Errorf("error %q does not match %v", err, c.is)
					}
					checkNoLeak(t, before)
					if after := hostMountinfo(t); after != mounts {
						t.Errorf("host mounts changed:\n%s\nnow\n%s", mounts, after)
					}
				})
			}
		})
	}
}

func isFSType(path string, magic int64) bool {
	var fs unix.Statfs_t
	return unix.Statfs(path, &fs) == nil && fs.Type == magic
}

// TestCgroupNotSupported forces the lack of clone3 (the SetNoClone3 hook,
// as after a clone3 that failed where clone worked), and, under the
// seccomp launcher, meets the real one: Spawn with a Cgroup is an error
// matching ErrNotSupported naming Linux 5.7, on every path, and starts
// nothing, never the program outside its cgroup.
func TestCgroupNotSupported(t *testing.T) {
	mnt, _ := cgroup2Mount(t)
	if mnt == "" {
		t.Skip("no cgroup2 file system mounted")
	}
	seccomp := os.Getenv("NSGO_SECCOMP_CLONE3") != ""
	for _, hook := range []bool{true, false} {
		if !hook && !seccomp {
			continue // the real kernel has it; TestCgroupSeccomp runs this under the launcher
		}
		for _, path := range namespace.ChildPaths {
			t.Run(fmt.Sprintf("%s/hook=%v", path, hook), func(t *testing.T) {
				skipOwnStackUnderRaceCover(t, path)
				defer namespace.SetChildPath(namespace.SetChildPath(path))
				defer namespace.SetNoClone3(namespace.SetNoClone3(hook))
				marker := filepath.Join(t.TempDir(), "ran")
				before := takeCounts(t)
				opts := namespace.Options{Path: "/bin/sh", Args: []string{"sh", "-c", "touch " + marker},
					Cgroup: namespace.CgroupDir{Path: mnt}}
				if path == "own stack" {
					opts.New = namespace.User
					opts.UIDMap, opts.GIDMap = ownMaps()
				}
				p, err := namespace.Spawn(opts)
				if err == nil {
					p.Wait()
					t.Fatal("Spawn with a Cgroup and no clone3: no error")
				}
				if strings.Contains(err.Error(), ": test: ") {
					t.Skip(err)
				}
				t.Log(err)
				if !errors.Is(err, namespace.ErrNotSupported) || !strings.Contains(err.Error(), "5.7") || !strings.Contains(err.Error(), "Cgroup") {
					t.Errorf("error %q: want one naming Cgroup and Linux 5.7, matching ErrNotSupported", err)
				}
				time.Sleep(10 * time.Millisecond)
				if _, err := os.Stat(marker); err == nil {
					t.Error("the program ran")
				}
				checkNoLeak(t, before)
			})
		}
	}
}

// TestCgroupSeccomp runs TestCgroupNotSupported under the seccomp launcher
// (testdata/seccomp), where clone3 answers ENOSYS, as Docker's default
// profile does, and EPERM, as older ones do: the probe must find either
// without the hook. EPERM, which clone3 also gives for namespaces the
// caller may not create, says nothing of CLONE_INTO_CGROUP by itself. The
// EPERM run uses a test binary built without cgo: glibc's pthread_create
// falls back to clone on ENOSYS only (see .ci/run).
func TestCgroupSeccomp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the seccomp launcher; -short")
	}
	if os.Getenv("NSGO_SECCOMP_CLONE3") != "" {
		t.Skip("already under the launcher")
	}
	gocmd, err := exec.LookPath("go") // go test puts its own first in PATH
	if err != nil {
		t.Skip("no go command to build the seccomp launcher:", err)
	}
	launcher := filepath.Join(t.TempDir(), "seccomp")
	goTool(t, gocmd, "build", "-o", launcher, "./testdata/seccomp")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	nocgo := filepath.Join(t.TempDir(), "namespace-nocgo.test")
	build := exec.Command(gocmd, "test", "-c", "-o", nocgo, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go test -c: %v\n%s", err, out)
	}
	for _, run := range []struct{ errno, exe string }{{"ENOSYS", exe}, {"EPERM", nocgo}} {
		cmd := exec.Command(launcher, run.errno, run.exe, "-test.run=^(TestCgroupNotSupported|TestSeccompClone3Filter)$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "NSGO_NO_REEXEC=1")
		out, err := cmd.CombinedOutput()
		for _, want := range []string{"--- PASS: TestSeccompClone3Filter", "--- PASS: TestCgroupNotSupported/vfork/hook=false",
			"--- PASS: TestCgroupNotSupported/copy/hook=false"} {
			if err != nil || !strings.Contains(string(out), want) {
				t.Fatalf("under the seccomp launcher answering %s: %v, no %q\n%s", run.errno, err, want, out)
			}
		}
	}
}

// TestCgroupDelegated delegates a cgroup to uid 65534 as systemd's
// Delegate=yes does (the directory and its cgroup.procs, cgroup.threads and
// cgroup.subtree_control owned by the user), starts this test binary as
// that user inside it (with Cgroup, the feature under test), and runs the
// cgroup tests there, under it: an unprivileged caller moves the programs
// into cgroups it made in its delegated subtree.
func TestCgroupDelegated(t *testing.T) {
	if !privileged {
		t.Skip("delegating a cgroup needs root")
	}
	if os.Getenv("NSGO_NO_REEXEC") != "" {
		t.Skip("NSGO_NO_REEXEC is set")
	}
	deleg := testCgroup(t)
	for _, f := range []string{"", "cgroup.procs", "cgroup.threads", "cgroup.subtree_control"} {
		if err := os.Chown(filepath.Join(deleg, f), 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	var out strings.Builder
	p, err := namespace.Spawn(namespace.Options{
		Path:       "/proc/self/exe",
		Args:       []string{"namespace.test", "-test.v", "-test.count=1", "-test.short", "-test.run=^(TestCgroup|TestPidFD)"},
		Env:        append(os.Environ(), "NSGO_NO_REEXEC=1", envCgroupDelegated+"="+deleg),
		Dir:        "/",
		Credential: &namespace.Credential{UID: 65534, GID: 65534},
		Cgroup:     namespace.CgroupDir{Path: deleg},
		Stdout:     &out, Stderr: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The rerun's own cgroup is the delegated one, seen from outside.
	if got, want := procCgroup(t, fmt.Sprint(p.Pid)), cgroupPathOf(t, deleg); got != want {
		t.Errorf("the rerun is in cgroup %s, want %s", got, want)
	}
	st, err := p.Wait()
	if err != nil || !st.Success() {
		t.Fatalf("cgroup tests as uid 65534: %v %v\n%s", st, err, out.String())
	}
	for _, want := range []string{"--- PASS: TestCgroupEveryPath/vfork/user/file", "--- PASS: TestCgroupEveryPath/copy/user+time",
		"--- PASS: TestCgroupHandleSpawn/vfork", "--- PASS: TestCgroupBadInput/copy/removed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("as uid 65534 in a delegated cgroup, no %q:\n%s", want, out.String())
		}
	}
	// The rerun must have run in the delegated cgroup, not skipped.
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		if l := sc.Text(); strings.Contains(l, "--- SKIP") && strings.Contains(l, "cannot make a cgroup") {
			t.Errorf("skipped as uid 65534: %s", l)
		}
	}
	t.Logf("as uid 65534 in %s: %d passed", deleg, strings.Count(out.String(), "--- PASS"))
}
