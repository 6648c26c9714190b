package namespace_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// The mount tests run on every child path, as root and as uid 65534 (in a
// new user namespace that maps the caller's own IDs: TestUnprivileged runs
// them again as 65534), and look at the result from outside, through
// /proc/PID/mountinfo and /proc/PID/root of the running program, as well as
// from inside.

// mountVariant is a way of running the mount tests: with a new user
// namespace (any caller), or as host root without one.
type mountVariant struct {
	name string
	opts namespace.Options
}

func mountVariants() []mountVariant {
	uid, gid := ownMaps()
	vs := []mountVariant{{"userns", namespace.Options{New: namespace.User | namespace.Mount | namespace.PID,
		UIDMap: uid, GIDMap: gid, SetGroups: idmap.Deny}}}
	if privileged {
		vs = append(vs, mountVariant{"host root", namespace.Options{New: namespace.Mount | namespace.PID}})
	}
	return vs
}

// eachMountCase runs fn on every child path and variant, in subtests, and
// checks that the caller's mounts and counts are as before.
func eachMountCase(t *testing.T, fn func(t *testing.T, v mountVariant)) {
	t.Helper()
	for _, path := range namespace.ChildPaths {
		for _, v := range mountVariants() {
			t.Run(path+"/"+v.name, func(t *testing.T) {
				skipOwnStackUnderRaceCover(t, path)
				defer namespace.SetChildPath(namespace.SetChildPath(path))
				hostBefore := hostMountinfo(t)
				before := takeCounts(t)
				fn(t, v)
				checkNoLeak(t, before)
				if after := hostMountinfo(t); after != hostBefore {
					t.Errorf("the caller's mounts changed:\nbefore:\n%s\nafter:\n%s", hostBefore, after)
				}
			})
		}
	}
}

// hostMountinfo returns the caller's mountinfo, without the mounts under
// other tests' temporary directories (TMPDIR/anything but
// TestMountSpec...), where the tests of other processes mount and unmount
// while this one runs. The tests of every family that must leave the
// caller's mounts alone compare it before and after.
func hostMountinfo(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	tmp, ours := os.TempDir()+"/", filepath.Join(os.TempDir(), "TestMountSpec")
	var keep []string
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], tmp) && !strings.HasPrefix(f[4], ours) {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "")
}

// started is a program that waits for a line on its standard input.
type started struct {
	p   *namespace.Process
	in  *os.File
	out *strings.Builder
}

// startWaiting spawns script under opts, with "read x" first, so that the
// test can look at it from outside; it skips the test for a combination that
// the forced child path cannot make.
func startWaiting(t *testing.T, opts namespace.Options, script string) *started {
	t.Helper()
	return startWaitingWith(t, namespace.Spawn, opts, script)
}

// startWaitingWith is startWaiting through spawn.
func startWaitingWith(t *testing.T, spawn func(namespace.Options) (*namespace.Process, error), opts namespace.Options, script string) *started {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := &strings.Builder{}
	opts.Path, opts.Args = "/bin/sh", []string{"sh", "-c", "read x; " + script}
	opts.Stdin, opts.Stdout, opts.Stderr = r, out, out
	p, err := spawn(opts)
	if err != nil {
		w.Close()
		if strings.Contains(err.Error(), ": test: ") {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	return &started{p, w, out}
}

// finish releases the program and returns its output; it fails the test
// unless the program exits 0.
func (s *started) finish(t *testing.T) string {
	t.Helper()
	s.in.Write([]byte("go\n"))
	s.in.Close()
	st, err := s.p.Wait()
	if err != nil || !st.Success() {
		t.Fatalf("program: %v %v\n%s", st, err, s.out.String())
	}
	return s.out.String()
}

// mountEntry is a line of mountinfo, the parts the tests compare.
type mountEntry struct {
	root, point, fstype, source string
	opts                        []string // per-mount options
	super                       string   // super options
	optional                    []string // shared:N, master:N, ...
}

func parseMountinfo(t *testing.T, text string) []mountEntry {
	t.Helper()
	var es []mountEntry
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		sep := slices.Index(f, "-")
		if len(f) < 10 || sep < 6 {
			t.Fatalf("bad mountinfo line %q", line)
		}
		es = append(es, mountEntry{root: f[3], point: f[4], opts: strings.Split(f[5], ","),
			optional: f[6:sep], fstype: f[sep+1], source: f[sep+2], super: f[sep+3]})
	}
	return es
}

func readMountinfo(t *testing.T, pid int) []mountEntry {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	return parseMountinfo(t, string(b))
}

// flagsOf returns the mount flags of an entry that the tests compare.
func flagsOf(e mountEntry) string {
	var fl []string
	for _, o := range e.opts {
		switch o {
		case "ro", "nosuid", "nodev", "noexec":
			fl = append(fl, o)
		}
	}
	return strings.Join(fl, ",")
}

// shape is a mount table as the tests compare it: each mount point, its
// file system type and flags, in order.
func shape(es []mountEntry) []string {
	var s []string
	for _, e := range es {
		s = append(s, fmt.Sprintf("%s %s %s", e.point, e.fstype, flagsOf(e)))
	}
	return s
}

// sandboxSpecs is bwrap's --tmpfs-root sandbox of the issue: a tmpfs root,
// ro binds of /usr /bin /lib /lib64, /dev, /tmp (and /proc by MountProc).
func sandboxSpecs() []namespace.MountSpec {
	const ro = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_REC
	ms := []namespace.MountSpec{{Source: "tmpfs", Target: "/", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV}}
	for _, d := range []string{"/usr", "/bin", "/lib", "/lib64"} {
		if _, err := os.Stat(d); err == nil {
			ms = append(ms, namespace.MountSpec{Source: d, Target: d, Type: "bind", Flags: ro})
		}
	}
	ms = append(ms, namespace.DevMounts("/dev")...)
	return append(ms, namespace.MountSpec{Source: "tmpfs", Target: "/tmp", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV, Data: "mode=0755"})
}

// TestMountSpecSandbox runs bwrap's sandbox: the program sees only what the
// Mounts bring in, with the flags asked for, from outside (its mountinfo,
// its root) and inside (ls, a write to a read-only bind).
func TestMountSpecSandbox(t *testing.T) {
	eachMountCase(t, func(t *testing.T, v mountVariant) {
		opts := v.opts
		opts.Mounts = sandboxSpecs()
		opts.MountProc = true
		s := startWaiting(t, opts, `ls /; echo ==; ls -A /dev; echo ==; readlink /dev/ptmx /dev/fd /dev/stdout; echo ==;
			if touch /usr/nsgo-test 2>/dev/null; then echo WROTE; fi; echo hi > /tmp/x && cat /tmp/x; test -c /dev/null && echo null-ok`)
		mi := readMountinfo(t, s.p.Pid)
		got := shape(mi)
		var want []string
		want = append(want, "/ tmpfs nosuid,nodev")
		for _, d := range []string{"/usr", "/bin", "/lib", "/lib64"} {
			if _, err := os.Stat(d); err == nil {
				want = append(want, d+" ext4 ro,nosuid,nodev")
			}
		}
		want = append(want, "/dev tmpfs nosuid,nodev")
		for _, n := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
			want = append(want, "/dev/"+n+" devtmpfs nosuid")
		}
		want = append(want, "/dev/pts devpts nosuid,noexec", "/tmp tmpfs nosuid,nodev", "/proc proc nosuid,nodev,noexec")
		// The file system of /usr is the host's, whatever it is.
		for i := range want {
			want[i] = strings.Replace(want[i], " ext4 ", " "+rootFSType(t)+" ", 1)
		}
		if !slices.Equal(got, want) {
			t.Errorf("mounts of the program:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// From outside, through its root: the tmpfs root holds only the
		// mount points.
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/root/", s.p.Pid))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		wantNames := []string{"bin", "dev", "lib", "lib64", "proc", "tmp", "usr"}
		if !slices.Equal(names, wantNames) {
			t.Errorf("the program's root holds %q, want %q", names, wantNames)
		}
		out := s.finish(t)
		parts := strings.Split(out, "==\n")
		if len(parts) != 4 {
			t.Fatalf("output %q", out)
		}
		if got := strings.Fields(parts[0]); !slices.Equal(got, wantNames) {
			t.Errorf("ls / inside: %q, want %q", got, wantNames)
		}
		wantDev := []string{"core", "fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero"}
		if got := strings.Fields(parts[1]); !slices.Equal(got, wantDev) {
			t.Errorf("ls -A /dev inside: %q, want %q", got, wantDev)
		}
		if got := strings.Fields(parts[2]); !slices.Equal(got, []string{"pts/ptmx", "/proc/self/fd", "/proc/self/fd/1"}) {
			t.Errorf("links in /dev: %q", got)
		}
		if want := "hi\nnull-ok\n"; parts[3] != want {
			t.Errorf("inside: %q, want %q", parts[3], want)
		}
	})
}

// rootFSType is the file system type of the caller's /.
func rootFSType(t *testing.T) string {
	for _, e := range parseMountinfo(t, hostMountinfo(t)) {
		if e.point == "/" {
			return e.fstype
		}
	}
	t.Fatal("no / in mountinfo")
	return ""
}

// readBinds returns the ro binds of /usr, /bin, /lib and /lib64, those
// that exist.
func readBinds() []namespace.MountSpec {
	var ms []namespace.MountSpec
	for _, d := range []string{"/usr", "/bin", "/lib", "/lib64"} {
		if _, err := os.Stat(d); err == nil {
			ms = append(ms, namespace.MountSpec{Source: d, Target: d, Type: "bind", Flags: unix.MS_RDONLY | unix.MS_REC})
		}
	}
	return ms
}

// dirNames lists a directory, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestMountSpecRoot pivots into a directory of the caller's (Root): the
// binds, a file bind, a dir and a symlink are made in it, the program
// starts in Dir inside it, and /proc is the new PID namespace's; seen
// from outside through /proc/PID/root and mountinfo, and inside. A
// symbolic link in the root that points out of it (by .. or absolutely) is
// resolved inside it: the mount lands in the root, nothing in the
// caller's directory it names.
func TestMountSpecRoot(t *testing.T) {
	eachMountCase(t, func(t *testing.T, v mountVariant) {
		root, outside, files := t.TempDir(), t.TempDir(), t.TempDir()
		if err := os.WriteFile(root+"/hello", []byte("hi from the root\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(files+"/greeting", []byte("a bound file\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{"/sub", outside} {
			if err := os.MkdirAll(root+d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		// Links that would lead out of the root on the host: one by ..,
		// one absolute; inside the root both are its own copy of outside.
		if err := os.Symlink(strings.Repeat("../", 20)+strings.TrimPrefix(outside, "/"), root+"/up"); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, root+"/abs"); err != nil {
			t.Fatal(err)
		}
		opts := v.opts
		opts.Root, opts.Dir, opts.MountProc = root, "/sub", true
		opts.Mounts = append(readBinds(),
			namespace.MountSpec{Source: files + "/greeting", Target: "/etc/greeting", Type: "bind"},
			namespace.MountSpec{Source: "tmpfs", Target: "/up/viaup", Type: "tmpfs"},
			namespace.MountSpec{Source: "tmpfs", Target: "/abs/viaabs", Type: "tmpfs"},
			namespace.MountSpec{Target: "/made/here", Type: "dir"},
			namespace.MountSpec{Source: "hello", Target: "/made/link", Type: "symlink"},
		)
		s := startWaiting(t, opts, `pwd; cat /hello /etc/greeting; readlink /made/link; test -d /made/here && echo made; echo $$; test -d /proc/1/ns && echo proc`)
		pid := s.p.Pid
		// From outside: its root is Root, its mounts are those asked for.
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/root/hello", pid))
		if err != nil || string(b) != "hi from the root\n" {
			t.Errorf("/proc/%d/root/hello: %q %v", pid, b, err)
		}
		mi := readMountinfo(t, pid)
		if mi[0].point != "/" || !strings.HasSuffix(root, mi[0].root) || mi[0].root == "/" {
			t.Errorf("the program's root mount is %+v, want a bind of %s", mi[0], root)
		}
		var points []string
		for _, e := range mi[1:] {
			points = append(points, e.point)
		}
		var want []string
		for _, ms := range readBinds() {
			want = append(want, ms.Target)
		}
		want = append(want, "/etc/greeting", outside+"/viaup", outside+"/viaabs", "/proc")
		if !slices.Equal(points, want) {
			t.Errorf("mount points %q, want %q", points, want)
		}
		out := s.finish(t)
		if want := "/sub\nhi from the root\na bound file\nhello\nmade\n1\nproc\n"; out != want {
			t.Errorf("output %q, want %q", out, want)
		}
		// What the child created stays in Root; nothing in the
		// caller's directory that the links name.
		if got := dirNames(t, outside); len(got) != 0 {
			t.Errorf("the caller's %s has %q", outside, got)
		}
		if got := dirNames(t, root+outside); !slices.Equal(got, []string{"viaabs", "viaup"}) {
			t.Errorf("%s in the root has %q", outside, got)
		}
		if fi, err := os.Stat(root + "/etc/greeting"); err != nil || fi.Size() != 0 || !fi.Mode().IsRegular() {
			t.Errorf("the file bind's target in Root: %v %v", fi, err)
		}
	})
}

// TestMountSpecRootTmpfs mounts a tmpfs on Root as the new root (a first
// entry on /): the program sees nothing of Root's own files, and nothing is
// created in Root.
func TestMountSpecRootTmpfs(t *testing.T) {
	eachMountCase(t, func(t *testing.T, v mountVariant) {
		root := t.TempDir()
		if err := os.WriteFile(root+"/hidden", nil, 0o644); err != nil {
			t.Fatal(err)
		}
		opts := v.opts
		opts.Root = root
		opts.Mounts = append([]namespace.MountSpec{{Source: "nsgo-root", Target: "/", Type: "tmpfs", Data: "mode=0711"}}, readBinds()...)
		s := startWaiting(t, opts, `ls -A /; stat -c %a /`)
		mi := readMountinfo(t, s.p.Pid)
		if mi[0].point != "/" || mi[0].fstype != "tmpfs" || mi[0].source != "nsgo-root" || !strings.Contains(mi[0].super, "mode=711") {
			t.Errorf("root mount %+v, want the tmpfs nsgo-root with mode=711", mi[0])
		}
		out := s.finish(t)
		var want []string
		for _, ms := range readBinds() {
			want = append(want, strings.TrimPrefix(ms.Target, "/"))
		}
		slices.Sort(want)
		if got := strings.Fields(out); !slices.Equal(got, append(want, "711")) {
			t.Errorf("inside: %q, want %q", got, append(want, "711"))
		}
		if got := dirNames(t, root); !slices.Equal(got, []string{"hidden"}) {
			t.Errorf("Root has %q after the run", got)
		}
	})
}

// TestMountSpecLikeBwrap runs the sandbox with bwrap 0.8.0 and with
// Spawn, side by side, each printing its mountinfo, then /bin/true in
// each: the mount points, their file systems, flags and file system
// options are the same (bwrap's read-only covers of /proc/irq and
// /proc/bus, which it makes as root, aside).
func TestMountSpecLikeBwrap(t *testing.T) {
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		t.Skip("no bwrap")
	}
	args := []string{"--unshare-all", "--uid", "0", "--gid", "0", "--ro-bind", "/usr", "/usr", "--ro-bind", "/bin", "/bin",
		"--ro-bind", "/lib", "/lib", "--ro-bind", "/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"}
	norm := func(es []mountEntry) []string {
		var out []string
		for _, e := range es {
			if strings.HasPrefix(e.point, "/proc/") {
				continue
			}
			root, super := e.root, e.super
			if e.point == "/" {
				root = "(new)" // bwrap's is /newroot in the tmpfs it builds in
			}
			if e.fstype != "tmpfs" && e.fstype != "devpts" && e.fstype != "proc" {
				super = "(host)"
			}
			out = append(out, fmt.Sprintf("%s %s %s %s %s", e.point, root, e.fstype, flagsOf(e), super))
		}
		slices.Sort(out)
		return out
	}
	uid, gid := ownMaps()
	opts := namespace.Options{
		New:    namespace.User | namespace.Mount | namespace.PID | namespace.IPC | namespace.UTS | namespace.Net | namespace.Cgroup,
		UIDMap: uid, GIDMap: gid, MountProc: true, Mounts: sandboxSpecs(),
	}
	for _, path := range namespace.ChildPaths {
		t.Run(path, func(t *testing.T) {
			skipOwnStackUnderRaceCover(t, path)
			defer namespace.SetChildPath(namespace.SetChildPath(path))
			o := opts
			if path == "vfork" {
				o.SetGroups = idmap.Deny
			}
			theirs, err := exec.Command(bwrap, append(args, "cat", "/proc/self/mountinfo")...).CombinedOutput()
			if err != nil {
				t.Fatalf("bwrap: %v\n%s", err, theirs)
			}
			o.Path, o.Args = "/bin/cat", []string{"cat", "/proc/self/mountinfo"}
			var ours strings.Builder
			o.Stdout, o.Stderr = &ours, &ours
			if err := waitOK(namespace.Spawn(o)); err != nil {
				if strings.Contains(err.Error(), ": test: ") {
					t.Skip(err)
				}
				t.Fatalf("%v\n%s", err, ours.String())
			}
			a, b := norm(parseMountinfo(t, string(theirs))), norm(parseMountinfo(t, ours.String()))
			if !slices.Equal(a, b) {
				t.Errorf("bwrap's mounts:\n%s\nSpawn's:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
			}
			for _, prog := range [][]string{{"/bin/true"}, {"/bin/sh", "-c", "exit 0"}} {
				if out, err := exec.Command(bwrap, append(args, prog...)...).CombinedOutput(); err != nil {
					t.Errorf("bwrap %s: %v %s", prog, err, out)
				}
				o.Path, o.Args, o.Stdout, o.Stderr = prog[0], prog, nil, nil
				if err := waitOK(namespace.Spawn(o)); err != nil {
					t.Errorf("Spawn %s: %v", prog, err)
				}
			}
		})
	}
}

// TestMountSpecBadInput gives bad mount options: each is a clear error
// naming the option (before any clone) or the mount and the step (from
// the child), nothing is created outside the root, and nothing is left:
// no child, no descriptor, no mount in the caller's namespace.
func TestMountSpecBadInput(t *testing.T) {
	eachMountCase(t, func(t *testing.T, v mountVariant) {
		root, outside := t.TempDir(), t.TempDir()
		file := root + "/file"
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(root+"/sub", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(strings.Repeat("../", 20)+strings.TrimPrefix(outside, "/"), root+"/up"); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, root+"/abs"); err != nil {
			t.Fatal(err)
		}
		tmpfs := func(target string) namespace.MountSpec {
			return namespace.MountSpec{Source: "tmpfs", Target: target, Type: "tmpfs"}
		}
		for _, c := range []struct {
			name   string
			change func(o *namespace.Options)
			want   string
			is     error
		}{
			{"dotdot", func(o *namespace.Options) { o.Root, o.Mounts = root, []namespace.MountSpec{tmpfs("/../" + outside)} },
				`Mounts[0] (tmpfs on /../` + outside + `): Target "/../` + outside + `" has a ".." component`, nil},
			{"dotdot without root", func(o *namespace.Options) { o.Mounts = []namespace.MountSpec{tmpfs("/tmp/../x")} },
				`Mounts[0] (tmpfs on /tmp/../x): Target "/tmp/../x" has a ".." component`, nil},
			{"symlink up", func(o *namespace.Options) { o.Root, o.Mounts = root, []namespace.MountSpec{tmpfs("/up/x")} },
				"child mount 0 (tmpfs on /up/x): create /up: file exists", os.ErrExist},
			{"symlink abs", func(o *namespace.Options) { o.Root, o.Mounts = root, []namespace.MountSpec{tmpfs("/abs")} },
				"child mount 0 (tmpfs on /abs): create /abs: file exists", os.ErrExist},
			{"missing source", func(o *namespace.Options) {
				o.Mounts = []namespace.MountSpec{tmpfs("/"), {Source: outside + "/none", Target: "/x", Type: "bind"}}
			}, "Mounts[1] (bind " + outside + "/none on /x): Source: stat " + outside + "/none: no such file or directory", os.ErrNotExist},
			{"relative target", func(o *namespace.Options) { o.Mounts = []namespace.MountSpec{tmpfs("/"), tmpfs("tmp")} },
				`Mounts[1] (tmpfs on tmp): Target "tmp" is not an absolute path`, nil},
			{"empty target", func(o *namespace.Options) { o.Mounts = []namespace.MountSpec{tmpfs("")} },
				"Mounts[0] (tmpfs on ): empty Target", nil},
			{"empty type", func(o *namespace.Options) { o.Mounts = []namespace.MountSpec{{Source: "x", Target: "/x"}} },
				"Mounts[0] ( on /x): empty Type", nil},
			{"root without mount", func(o *namespace.Options) { o.Root, o.New = root, o.New&^namespace.Mount&^namespace.PID },
				"Root needs a new mnt namespace", nil},
			{"mounts without mount", func(o *namespace.Options) {
				o.Mounts, o.New = []namespace.MountSpec{tmpfs("/")}, o.New&^namespace.Mount&^namespace.PID
			}, "Mounts needs a new mnt namespace", nil},
			{"propagation without mount", func(o *namespace.Options) {
				o.Propagation, o.New = namespace.PropagationSlave, o.New&^namespace.Mount&^namespace.PID
			}, "Propagation needs a new mnt namespace", nil},
			{"unknown propagation", func(o *namespace.Options) { o.Propagation = 7 }, "invalid Propagation 7", nil},
			{"shared with root", func(o *namespace.Options) { o.Root, o.Propagation = root, namespace.PropagationShared },
				"Propagation shared with a new root", nil},
			{"root not a directory", func(o *namespace.Options) { o.Root = file },
				`Root "` + file + `" is not a directory`, syscall.ENOTDIR},
			{"root missing", func(o *namespace.Options) { o.Root = outside + "/none" }, "Root: stat", os.ErrNotExist},
			{"second root", func(o *namespace.Options) { o.Mounts = []namespace.MountSpec{tmpfs("/x"), tmpfs("/")} },
				"Mounts[1] (tmpfs on /): only the first of Mounts may have Target /", nil},
			{"MS_REC on a tmpfs", func(o *namespace.Options) {
				o.Mounts = []namespace.MountSpec{{Source: "tmpfs", Target: "/", Type: "tmpfs", Flags: unix.MS_REC}}
			}, "Mounts[0] (tmpfs on /): MS_REC is for a bind", nil},
			{"unknown flag", func(o *namespace.Options) {
				o.Mounts = []namespace.MountSpec{{Source: "tmpfs", Target: "/", Type: "tmpfs", Flags: unix.MS_MOVE}}
			}, "Mounts[0] (tmpfs on /): Flags 0x2000: not supported here", nil},
			{"bad map", func(o *namespace.Options) {
				o.Mounts = []namespace.MountSpec{tmpfs("/"), {Source: "/usr", Target: "/usr", Type: "bind", UIDMap: idmap.Map{{Inside: 0, Outside: 0, Count: 0}}}}
			}, "Mounts[1] (bind /usr on /usr): UIDMap: ", nil},
			{"unknown file system", func(o *namespace.Options) {
				o.Mounts = []namespace.MountSpec{tmpfs("/"), {Target: "/x", Type: "nsgo-nofs"}}
			}, `child mount 1 (nsgo-nofs on /x): fsopen: no such device`, syscall.ENODEV},
			{"bad option", func(o *namespace.Options) {
				o.Mounts = []namespace.MountSpec{tmpfs("/"), {Source: "tmpfs", Target: "/x", Type: "tmpfs", Data: "mode=0755,nsgo=1"}}
			}, `child mount 1 (tmpfs on /x): fsconfig "nsgo"="1": invalid argument`, syscall.EINVAL},
			{"file onto a directory", func(o *namespace.Options) {
				o.Root, o.Mounts = root, []namespace.MountSpec{{Source: file, Target: "/sub", Type: "bind"}}
			}, "child mount 0 (bind " + file + " on /sub): move_mount onto /sub: invalid argument", syscall.EINVAL},
		} {
			opts := v.opts
			c.change(&opts)
			opts.Path = "/bin/true"
			err := spawnError(t, c.name, opts)
			if err == nil {
				continue
			}
			if !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
				t.Errorf("%s: error %q, want one with %q matching %v", c.name, err, c.want, c.is)
			}
			if got := dirNames(t, outside); len(got) != 0 {
				t.Errorf("%s: the caller's %s has %q", c.name, outside, got)
			}
		}
	})
}

// TestMountSpecIdmapped binds a directory with ID maps: through the mount,
// files show the mapped owners, from outside (/proc/PID/root) and inside,
// and mountinfo says idmapped. The caller opens such a bind, so it works in
// a new user namespace too, where the program sees the owners through its
// own maps. Without privilege over the file system it is a clear error.
func TestMountSpecIdmapped(t *testing.T) {
	idm := idmap.Map{{Inside: 0, Outside: 5000, Count: 2000}}
	eachMountCase(t, func(t *testing.T, v mountVariant) {
		src, dst := t.TempDir(), t.TempDir()
		for _, f := range []struct {
			name string
			id   int
		}{{"zero", 0}, {"thousand", 1000}} {
			if err := os.WriteFile(src+"/"+f.name, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if privileged {
				if err := os.Chown(src+"/"+f.name, f.id, f.id); err != nil {
					t.Fatal(err)
				}
			}
		}
		opts := v.opts
		spec := namespace.MountSpec{Source: src, Target: dst, Type: "bind", Flags: unix.MS_RDONLY, UIDMap: idm, GIDMap: idm}
		if !privileged {
			// Maps it may write, over a file system it has no privilege over.
			spec.UIDMap, spec.GIDMap = ownMaps()
		}
		opts.Mounts = []namespace.MountSpec{spec}
		if !privileged {
			opts.Path = "/bin/true"
			_, err := namespace.Spawn(opts)
			want := "Mounts[0] (bind " + src + " on " + dst + "): idmapped bind: open_tree " + src + ": operation not permitted"
			if err != nil && strings.Contains(err.Error(), ": test: ") {
				t.Skip(err) // NewUserNamespace on a forced path it cannot take
			}
			if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, os.ErrPermission) {
				t.Fatalf("error %v, want one with %q", err, want)
			}
			return
		}
		s := startWaiting(t, opts, "stat -c '%n %u %g' "+dst+"/zero "+dst+"/thousand")
		var ours *mountEntry
		for _, e := range readMountinfo(t, s.p.Pid) {
			if e.point == dst {
				ours = &e
			}
		}
		if ours == nil || !slices.Contains(ours.opts, "idmapped") || !slices.Contains(ours.opts, "ro") {
			t.Errorf("the bind in the program's mountinfo: %+v, want ro and idmapped", ours)
		}
		for name, want := range map[string]uint32{"zero": 5000, "thousand": 6000} {
			var st unix.Stat_t
			if err := unix.Stat(fmt.Sprintf("/proc/%d/root%s/%s", s.p.Pid, dst, name), &st); err != nil || st.Uid != want || st.Gid != want {
				t.Errorf("%s from outside: %d:%d (%v), want %d", name, st.Uid, st.Gid, err, want)
			}
		}
		want := dst + "/zero 5000 5000\n" + dst + "/thousand 6000 6000\n"
		if opts.New.Has(namespace.User) {
			// The program's own maps map 0 alone: 5000 and up are
			// unmapped there.
			want = dst + "/zero 65534 65534\n" + dst + "/thousand 65534 65534\n"
		}
		if out := s.finish(t); out != want {
			t.Errorf("inside: %q, want %q", out, want)
		}
		if !opts.New.Has(namespace.User) {
			return
		}
		// A container's maps, on the program and on the mount: root's
		// files are the container root's (host uid 5000, who may walk
		// to dst).
		if err := os.Chmod(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		opts.UIDMap, opts.GIDMap = idm, idm
		opts.SetGroups = idmap.Auto
		opts.Mounts[0].UIDMap, opts.Mounts[0].GIDMap = idm, idm
		s = startWaiting(t, opts, "stat -c '%n %u %g' "+dst+"/zero "+dst+"/thousand")
		if out, want := s.finish(t), dst+"/zero 0 0\n"+dst+"/thousand 1000 1000\n"; out != want {
			t.Errorf("inside a container with the same maps: %q, want %q", out, want)
		}
	})
}

// TestMountSpecPropagation checks each Propagation from the caller's
// side, in a tmpfs of the test's own, made shared: after the program
// starts, the test mounts a tmpfs in it, which reaches the program unless
// propagation is private, and the program mounts one, which reaches the
// caller only when shared (or unchanged, from a shared mount).
func TestMountSpecPropagation(t *testing.T) {
	if !privileged {
		t.Skip("needs mounts in the caller's mount namespace, which only root can make")
	}
	if !inOwnMountNS(t) {
		return
	}
	base := t.TempDir()
	if err := unix.Mount("nsgo-prop", base, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(base, unix.MNT_DETACH) })
	if err := unix.Mount("", base, "", unix.MS_SHARED, ""); err != nil {
		t.Fatal(err)
	}
	hostBefore := hostMountinfo(t)
	for _, path := range namespace.ChildPaths {
		t.Run(path, func(t *testing.T) {
			skipOwnStackUnderRaceCover(t, path)
			defer namespace.SetChildPath(namespace.SetChildPath(path))
			for _, c := range []struct {
				prop                namespace.Propagation
				toProgram, toCaller bool
			}{
				{namespace.PropagationPrivate, false, false},
				{namespace.PropagationSlave, true, false},
				{namespace.PropagationShared, true, true},
				{namespace.PropagationUnchanged, true, true},
			} {
				before := takeCounts(t)
				dir := filepath.Join(base, strings.ReplaceAll(path, " ", "-")+"-"+c.prop.String())
				for _, d := range []string{dir + "/host", dir + "/in"} {
					if err := os.MkdirAll(d, 0o755); err != nil {
						t.Fatal(err)
					}
				}
				inR, inW, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				outR, outW, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				p, err := namespace.Spawn(namespace.Options{
					Path:        "/bin/sh",
					Args:        []string{"sh", "-c", "read x; mount -t tmpfs nsgo-in " + dir + "/in && echo mounted; read y; exit 0"},
					New:         namespace.Mount | namespace.PID,
					Propagation: c.prop,
					Stdin:       inR, Stdout: outW, Stderr: outW,
				})
				inR.Close()
				outW.Close()
				if err != nil {
					t.Fatal(err)
				}
				if err := unix.Mount("nsgo-host", dir+"/host", "tmpfs", 0, ""); err != nil {
					t.Fatal(err)
				}
				inW.Write([]byte("go\n"))
				line, _ := bufio.NewReader(outR).ReadString('\n')
				if line != "mounted\n" {
					t.Fatalf("%s: the program says %q", c.prop, line)
				}
				has := func(es []mountEntry, point string) bool {
					return slices.ContainsFunc(es, func(e mountEntry) bool { return e.point == point })
				}
				if got := has(readMountinfo(t, p.Pid), dir+"/host"); got != c.toProgram {
					t.Errorf("%s: the caller's new mount reached the program: %v, want %v", c.prop, got, c.toProgram)
				}
				if got := has(parseMountinfo(t, hostMountinfo(t)), dir+"/in"); got != c.toCaller {
					t.Errorf("%s: the program's mount reached the caller: %v, want %v", c.prop, got, c.toCaller)
				}
				inW.Close()
				if st, err := p.Wait(); err != nil || !st.Success() {
					t.Errorf("%s: %v %v", c.prop, st, err)
				}
				outR.Close()
				for _, d := range []string{dir + "/host", dir + "/in"} {
					for unix.Unmount(d, 0) == nil {
					}
				}
				checkNoLeak(t, before)
				if after := hostMountinfo(t); after != hostBefore {
					t.Errorf("%s: the caller's mounts changed:\nbefore:\n%s\nafter:\n%s", c.prop, hostBefore, after)
				}
			}
		})
	}
}

// refuseOnThisThread installs a seccomp filter on the calling thread alone
// (no TSYNC) that answers system call nr with ENOSYS, as a kernel without
// it does; the thread must be discarded afterwards.
func refuseOnThisThread(nr uint32) error {
	const (
		ldW  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret  = unix.BPF_RET | unix.BPF_K
		arch = 4 // offsetof(struct seccomp_data, arch)
	)
	filter := []unix.SockFilter{
		{Code: ldW, K: arch},
		{Code: jeq, Jt: 0, Jf: 3, K: unix.AUDIT_ARCH_X86_64},
		{Code: ldW, K: 0}, // nr
		{Code: jeq, Jt: 0, Jf: 1, K: nr},
		{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	return unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0)
}

// TestMountSpecNotSupported gives Mounts to a Spawn on a thread where
// openat2, open_tree or mount_setattr is refused with ENOSYS, as on a
// kernel older than 5.6, 5.2 or 5.12: an error matching ErrNotSupported
// that names the release, before any clone.
func TestMountSpecNotSupported(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the filter is written for amd64")
	}
	uid, gid := ownMaps()
	ro := namespace.MountSpec{Source: "/usr", Target: "/usr", Type: "bind", Flags: unix.MS_RDONLY}
	for _, c := range []struct {
		name string
		nr   uint32
		spec namespace.MountSpec
		want string
	}{
		{"openat2", unix.SYS_OPENAT2, ro, "openat2 (Target resolved inside the root) not supported by this kernel (requires Linux 5.6)"},
		{"open_tree", unix.SYS_OPEN_TREE, ro, "the mount API of open_tree, move_mount, fsopen and fsmount not supported by this kernel (requires Linux 5.2)"},
		{"mount_setattr", unix.SYS_MOUNT_SETATTR, ro, "mount_setattr (flags and ID maps of a bind mount) not supported by this kernel (requires Linux 5.12)"},
	} {
		before := takeCounts(t)
		var err error
		namespace.OnOwnThread(func() bool {
			if err = refuseOnThisThread(c.nr); err != nil {
				return false
			}
			namespace.ResetMountProbes()
			defer namespace.ResetMountProbes() // the next Spawn, on another thread, asks again
			_, err = namespace.Spawn(namespace.Options{Path: "/bin/true", New: namespace.User | namespace.Mount,
				UIDMap: uid, GIDMap: gid, Mounts: []namespace.MountSpec{c.spec}})
			return false
		})
		if err == nil || !errors.Is(err, namespace.ErrNotSupported) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s refused: error %v, want one matching ErrNotSupported with %q", c.name, err, c.want)
		}
		checkNoLeak(t, before)
	}
}

// TestMountSpecHandleSpawn makes a sandbox with Handle.Spawn from inside
// another program's mount namespace (New Mount in the joined one): bind
// sources are resolved in the joined namespace, which holds a tmpfs that
// the caller's does not.
func TestMountSpecHandleSpawn(t *testing.T) {
	eachMountCase(t, func(t *testing.T, v mountVariant) {
		dir := t.TempDir()
		target := v.opts
		target.New = v.opts.New &^ namespace.PID
		s := startWaiting(t, target, "") // waits on its first line
		defer s.finish(t)
		kinds := namespace.Mount
		if target.New.Has(namespace.User) {
			kinds |= namespace.User
		}
		// A tmpfs in the target's namespace only, with a file in it.
		in := namespace.Options{Path: "/bin/sh", Args: []string{"sh", "-c", "mount -t tmpfs nsgo-target " + dir + " && echo there > " + dir + "/only-in-target"}}
		h, err := namespace.Join(s.p.Pid, kinds)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		if err := waitOK(h.Spawn(in)); err != nil {
			if strings.Contains(err.Error(), ": test: ") {
				t.Skip(err)
			}
			t.Fatal(err)
		}
		var out strings.Builder
		opts := namespace.Options{Path: "/bin/cat", Args: []string{"cat", "/t/only-in-target"}, New: namespace.Mount, Stdout: &out, Stderr: &out,
			Mounts: append(append([]namespace.MountSpec{{Source: "tmpfs", Target: "/", Type: "tmpfs"}}, readBinds()...),
				namespace.MountSpec{Source: dir, Target: "/t", Type: "bind"})}
		if err := waitOK(h.Spawn(opts)); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		if out.String() != "there\n" {
			t.Errorf("the bind of %s, from the joined namespace, shows %q", dir, out.String())
		}
		if got := dirNames(t, dir); len(got) != 0 {
			t.Errorf("the caller's %s has %q", dir, got)
		}
	})
}

// TestMountSpecSourcesFirst binds a file that an earlier entry covers: the
// source is opened before anything is mounted, in the caller's view, so
// the bind shows the caller's file, not the tmpfs over its directory.
func TestMountSpecSourcesFirst(t *testing.T) {
	eachMountCase(t, func(t *testing.T, v mountVariant) {
		root := t.TempDir()
		if err := os.MkdirAll(root+"/data", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(root+"/data/file", []byte("the caller's\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		opts := v.opts
		opts.Root = root
		opts.Mounts = append(readBinds(),
			namespace.MountSpec{Source: "tmpfs", Target: "/data", Type: "tmpfs"},
			namespace.MountSpec{Source: root + "/data/file", Target: "/copy", Type: "bind"})
		s := startWaiting(t, opts, "cat /copy; ls -A /data")
		if out := s.finish(t); out != "the caller's\n" {
			t.Errorf("inside: %q, want the caller's file and an empty /data", out)
		}
	})
}
