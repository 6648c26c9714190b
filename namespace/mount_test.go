package namespace_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

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

// hostMountinfo returns the caller's mountinfo.
func hostMountinfo(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
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
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := &strings.Builder{}
	opts.Path, opts.Args = "/bin/sh", []string{"sh", "-c", "read x; " + script}
	opts.Stdin, opts.Stdout, opts.Stderr = r, out, out
	p, err := namespace.Spawn(opts)
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

// TestMountsSandbox runs bwrap's sandbox: the program sees only what the
// Mounts bring in, with the flags asked for, from outside (its mountinfo,
// its root) and inside (ls, a write to a read-only bind).
func TestMountsSandbox(t *testing.T) {
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
		hostFS := map[string]string{}
		for _, e := range parseMountinfo(t, hostMountinfo(t)) {
			hostFS[e.point] = e.fstype
		}
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

var _ = []any{bufio.NewReader, errors.New, io.EOF, exec.Command, filepath.Join, strconv.Itoa, syscall.Getpid}

// ExampleSpawn_sandbox runs a shell in bwrap's model of a sandbox: its root
// is a new, empty tmpfs (the first mount, on /), which the other mounts
// fill: read-only binds of the caller's /usr, /bin, /lib and /lib64, a
// minimal /dev, a tmpfs on /tmp and, with MountProc, the new PID
// namespace's /proc. No directory of the caller's is needed for the root:
// the child mounts the tmpfs on top of its own copy of /, then pivots into
// it and detaches the old root.
func ExampleSpawn_sandbox() {
	mounts := []namespace.MountSpec{{Source: "tmpfs", Target: "/", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV}}
	for _, dir := range []string{"/usr", "/bin", "/lib", "/lib64"} {
		mounts = append(mounts, namespace.MountSpec{Source: dir, Target: dir, Type: "bind", Flags: unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_REC})
	}
	mounts = append(mounts, namespace.DevMounts("/dev")...)
	mounts = append(mounts, namespace.MountSpec{Source: "tmpfs", Target: "/tmp", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV})

	p, err := namespace.Spawn(namespace.Options{
		Path:      "/bin/sh",
		Args:      []string{"sh", "-c", "ls /; echo pid $$; touch /usr/x || echo /usr is read-only"},
		New:       namespace.User | namespace.Mount | namespace.PID | namespace.IPC | namespace.UTS,
		UIDMap:    idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}},
		GIDMap:    idmap.Map{{Inside: 0, Outside: uint32(os.Getgid()), Count: 1}},
		Mounts:    mounts,
		MountProc: true,
		Stdout:    os.Stdout,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := p.Wait(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// bin
	// dev
	// lib
	// lib64
	// proc
	// tmp
	// usr
	// pid 1
	// /usr is read-only
}
