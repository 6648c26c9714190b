package namespace_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
)

// container is a shell in new namespaces that reports what it sees inside,
// then waits for a line on stdin so the test can look at it from outside.
type container struct {
	p      *namespace.Process
	in     io.WriteCloser
	out    *bufio.Reader
	inside map[string]string // what the shell printed, by key
}

const reportScript = `
echo "uid=$(id -u)"; echo "gid=$(id -g)"; echo "host=$(hostname)"; echo "pid=$$"
echo "procs=$(ls /proc | grep -c '^[0-9]')"
for k in mnt uts ipc net pid user cgroup time; do echo "ns.$k=$(readlink /proc/self/ns/$k)"; done
echo "uidmap=$(head -n1 /proc/self/uid_map | tr -s ' ')"
echo "uptime=$(cut -d. -f1 /proc/uptime)"
echo end
read x
`

func startContainer(t *testing.T, opts namespace.Options) *container {
	t.Helper()
	pr, pw := io.Pipe()
	in, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	opts.Path, opts.Args = "/bin/sh", []string{"sh", "-c", reportScript}
	opts.Stdin, opts.Stdout, opts.Stderr = in, pw, pw
	p, err := namespace.Spawn(opts)
	in.Close()
	if err != nil {
		inW.Close()
		t.Fatal(err)
	}
	c := &container{p: p, in: inW, out: bufio.NewReader(pr), inside: map[string]string{}}
	t.Cleanup(func() {
		c.in.Close()
		p.Kill()
		p.Wait()
		pw.Close()
	})
	go func() { p.Wait(); pw.Close() }()
	for {
		line, err := c.out.ReadString('\n')
		if err != nil {
			t.Fatalf("container output ended: %v; so far %v", err, c.inside)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "end" {
			return c
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("container printed %q", line)
		}
		c.inside[k] = v
	}
}

// TestSpawnEveryKind creates every kind at once and checks the result from
// inside (what the shell prints) and from outside (procfs, idmap, the host's
// own names and mounts).
func TestSpawnEveryKind(t *testing.T) {
	uidMap, gidMap := rootMaps()
	hostBefore, _ := os.Hostname()
	mountsBefore, _ := os.ReadFile("/proc/self/mountinfo")
	self, err := procfs.Namespaces(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}

	c := startContainer(t, namespace.Options{
		New:       namespace.All,
		UIDMap:    uidMap,
		GIDMap:    gidMap,
		Hostname:  "nsgo-test",
		MountProc: true,
		// /proc/uptime follows CLOCK_BOOTTIME, which the offset shifts.
		BoottimeOffset: 1000 * time.Hour,
	})

	// Inside: root, the new host name, PID 1 with a /proc of its own.
	want := map[string]string{"uid": "0", "gid": "0", "host": "nsgo-test", "pid": "1"}
	for k, v := range want {
		if c.inside[k] != v {
			t.Errorf("inside %s = %q, want %q", k, c.inside[k], v)
		}
	}
	// sh, ls and grep, and nothing of the host.
	if n, _ := strconv.Atoi(c.inside["procs"]); n < 1 || n > 4 {
		t.Errorf("inside, /proc shows %s processes; want only the container's", c.inside["procs"])
	}
	if up, _ := strconv.Atoi(c.inside["uptime"]); up < 3600000 {
		t.Errorf("inside uptime = %ds, want the 1000h boot-time offset", up)
	}
	if got, want := c.inside["uidmap"], " "+strings.TrimSpace(uidMap[0].String()); got != want {
		t.Errorf("inside uid_map = %q, want %q", got, want)
	}

	// Outside: every kind new, and the same namespaces the shell sees.
	outside, err := c.p.Namespaces()
	if err != nil {
		t.Fatal(err)
	}
	for k := range namespace.All.Each() {
		if outside[k] == self[k] {
			t.Errorf("%s: child still in the caller's namespace %v", k, self[k])
		}
		lk, ino, err := procfs.ParseLink(c.inside["ns."+k.String()])
		if err != nil || lk != k || ino != outside[k].Ino {
			t.Errorf("%s: inside link %q, outside inode %d", k, c.inside["ns."+k.String()], outside[k].Ino)
		}
	}
	if gotU, err := idmap.ReadUIDMap(c.p.Pid); err != nil || !cmp.Equal(gotU, uidMap) {
		t.Errorf("uid_map read from outside = %v, %v; want %v", gotU, err, uidMap)
	}
	if gotG, err := idmap.ReadGIDMap(c.p.Pid); err != nil || !cmp.Equal(gotG, gidMap) {
		t.Errorf("gid_map read from outside = %v, %v; want %v", gotG, err, gidMap)
	}
	// The host sees the shell as the outside IDs that 0 maps to: never as host
	// root inside a shifted namespace.
	if uid, gid := statusIDs(t, c.p.Pid); uid != int(uidMap[0].Outside) || gid != int(gidMap[0].Outside) {
		t.Errorf("host sees uid %d gid %d, want %d %d", uid, gid, uidMap[0].Outside, gidMap[0].Outside)
	}
	if host, _ := os.Hostname(); host != hostBefore {
		t.Errorf("host name changed from %q to %q", hostBefore, host)
	}
	if mounts, _ := os.ReadFile("/proc/self/mountinfo"); string(mounts) != string(mountsBefore) {
		t.Errorf("host mounts changed:\n%s\nnow:\n%s", mountsBefore, mounts)
	}
}

// statusIDs returns the real uid and gid of pid as the host sees them.
func statusIDs(t *testing.T, pid int) (uid, gid int) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := statusField(string(b), "Uid"); ok {
		uid, _ = strconv.Atoi(strings.Fields(v)[0])
	}
	if v, ok := statusField(string(b), "Gid"); ok {
		gid, _ = strconv.Atoi(strings.Fields(v)[0])
	}
	return uid, gid
}

// TestSpawnEachKind creates one kind at a time (with a user namespace where
// the caller is unprivileged) and checks that exactly that kind changed.
func TestSpawnEachKind(t *testing.T) {
	self, err := procfs.Namespaces(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for k := range namespace.All.Each() {
		t.Run(k.String(), func(t *testing.T) {
			opts := namespace.Options{New: k}
			if !privileged {
				opts.New |= namespace.User
				opts.UIDMap, opts.GIDMap = ownMaps()
			}
			c := startContainer(t, opts)
			got, err := c.p.Namespaces()
			if err != nil {
				t.Fatal(err)
			}
			for other := range namespace.All.Each() {
				if moved := got[other] != self[other]; moved != opts.New.Has(other) {
					t.Errorf("with New=%s, %s moved=%v", opts.New, other, moved)
				}
			}
		})
	}
}

func TestSpawnUTSOnly(t *testing.T) {
	opts := namespace.Options{New: namespace.UTS, Hostname: "box", Domainname: "example"}
	if !privileged {
		opts.New |= namespace.User
		opts.UIDMap, opts.GIDMap = ownMaps()
	}
	out := run(t, opts, "hostname; cat /proc/sys/kernel/domainname")
	if out != "box\nexample\n" {
		t.Errorf("inside: %q", out)
	}
}

func TestSpawnCredentials(t *testing.T) {
	t.Run("default is root inside", func(t *testing.T) {
		uidMap, gidMap := ownMaps()
		out := run(t, namespace.Options{New: namespace.User, UIDMap: uidMap, GIDMap: gidMap}, "id -u; id -g")
		if out != "0\n0\n" {
			t.Errorf("inside: %q", out)
		}
	})
	t.Run("default without 0 mapped is the caller's ID", func(t *testing.T) {
		uidMap := idmap.Map{{Inside: 1000, Outside: uint32(os.Getuid()), Count: 1}}
		gidMap := idmap.Map{{Inside: 2000, Outside: uint32(os.Getgid()), Count: 1}}
		out := run(t, namespace.Options{New: namespace.User, UIDMap: uidMap, GIDMap: gidMap}, "id -u; id -g")
		if out != "1000\n2000\n" {
			t.Errorf("inside: %q", out)
		}
	})
	t.Run("Credential inside a shifted namespace", func(t *testing.T) {
		if !privileged {
			t.Skip("mapping a range of IDs needs CAP_SETUID over the parent namespace")
		}
		uidMap, gidMap := rootMaps()
		out := run(t, namespace.Options{
			New: namespace.User, UIDMap: uidMap, GIDMap: gidMap,
			Credential: &namespace.Credential{UID: 1000, GID: 1000, Groups: []uint32{5, 6}},
		}, "id -u; id -g; id -G; cat /proc/self/status | grep -E '^(Uid|CapEff)'")
		lines := strings.Split(out, "\n")
		if lines[0] != "1000" || lines[1] != "1000" || lines[2] != "1000 5 6" {
			t.Errorf("inside: %q", out)
		}
		if !strings.Contains(out, "CapEff:\t0000000000000000") {
			t.Errorf("uid 1000 kept capabilities: %q", out)
		}
	})
	t.Run("Credential without a user namespace", func(t *testing.T) {
		if !privileged {
			t.Skip("changing uid needs CAP_SETUID")
		}
		out := run(t, namespace.Options{Credential: &namespace.Credential{UID: 65534, GID: 65534}}, "id -u; id -g; id -G")
		if out != "65534\n65534\n65534\n" {
			t.Errorf("as nobody: %q", out)
		}
	})
}

func TestSpawnEnvDirFiles(t *testing.T) {
	t.Setenv("NSGO_TEST_VAR", "inherited")
	if out := run(t, namespace.Options{}, `echo "$NSGO_TEST_VAR"`); out != "inherited\n" {
		t.Errorf("nil Env: %q", out)
	}
	if out := run(t, namespace.Options{Env: []string{}}, `echo "[$NSGO_TEST_VAR]"; env | grep -v '^PWD=' | wc -l`); out != "[]\n0\n" {
		t.Errorf("empty Env: %q", out)
	}
	dir := t.TempDir()
	if out := run(t, namespace.Options{Dir: dir}, "pwd"); out != dir+"\n" {
		t.Errorf("Dir: %q, want %q", out, dir)
	}

	// Exactly stdio and ExtraFiles reach the program.
	extra, err := os.CreateTemp(t.TempDir(), "extra")
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	out := run(t, namespace.Options{ExtraFiles: []*os.File{extra}}, `for fd in $(seq 0 1023); do [ -e /proc/$$/fd/$fd ] && printf '%s ' $fd; done; echo hello >&3`)
	if out != "0 1 2 3 " {
		t.Errorf("descriptors in the program: %q, want 0 1 2 3", out)
	}
	if b, _ := os.ReadFile(extra.Name()); string(b) != "hello\n" {
		t.Errorf("ExtraFiles[0] got %q", b)
	}

	// Stdin from a reader, output into a file, stderr separate.
	outFile, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	var errBuf strings.Builder
	p, err := namespace.Spawn(namespace.Options{
		Path: "/bin/sh", Args: []string{"sh", "-c", "cat; echo oops >&2"},
		Stdin: strings.NewReader("from stdin\n"), Stdout: outFile, Stderr: &errBuf,
	})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := p.Wait(); err != nil || !st.Success() {
		t.Fatal(st, err)
	}
	if b, _ := os.ReadFile(outFile.Name()); string(b) != "from stdin\n" || errBuf.String() != "oops\n" {
		t.Errorf("stdout %q, stderr %q", b, errBuf.String())
	}
	// Nil stdio is /dev/null.
	if out := run(t, namespace.Options{}, "readlink /proc/self/fd/0"); out != "/dev/null\n" {
		t.Errorf("nil Stdin is %q", out)
	}
}

func TestSpawnPathLookup(t *testing.T) {
	if out := run(t, namespace.Options{}, "echo ok"); out != "ok\n" {
		t.Fatal(out)
	}
	p, err := namespace.Spawn(namespace.Options{Path: "true"})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := p.Wait(); !st.Success() {
		t.Error(st)
	}
	_, err = namespace.Spawn(namespace.Options{Path: "nsgo-no-such-program"})
	if !errors.Is(err, exec.ErrNotFound) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing program in PATH: %v", err)
	}
}

// TestSpawnBadInput gives each bad input and checks the error and that
// nothing is left behind: no child, no zombie, no descriptor.
func TestSpawnBadInput(t *testing.T) {
	uidMap, gidMap := ownMaps()
	notExec := t.TempDir() + "/script"
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	withUser := func(o namespace.Options) namespace.Options {
		o.New |= namespace.User
		o.UIDMap, o.GIDMap = uidMap, gidMap
		return o
	}
	for _, tc := range []struct {
		name   string
		opts   namespace.Options
		want   string
		is     error
		inStep string // the failing child step, for a *ChildError
	}{
		{"empty Path", namespace.Options{}, "empty Path", nil, ""},
		{"unknown kind bits", namespace.Options{Path: "/bin/true", New: 0x1}, "no namespace kind", nil, ""},
		{"overlapping map", namespace.Options{Path: "/bin/true", New: namespace.User, UIDMap: idmap.Map{rng(0, 1000, 10), rng(5, 2000, 1)}}, "inside IDs overlap", nil, ""},
		{"zero count", namespace.Options{Path: "/bin/true", New: namespace.User, GIDMap: idmap.Map{rng(0, 1000, 0)}}, "count is zero", nil, ""},
		{"overflow", namespace.Options{Path: "/bin/true", New: namespace.User, UIDMap: idmap.Map{rng(0, 4294967000, 1000)}}, "outside IDs run past 4294967294", nil, ""},
		{"341 ranges", namespace.Options{Path: "/bin/true", New: namespace.User, UIDMap: make(idmap.Map, 341)}, "more than 340", nil, ""},
		{"map without user", namespace.Options{Path: "/bin/true", UIDMap: uidMap}, "UIDMap needs a new user namespace", nil, ""},
		{"100-byte host name", withUser(namespace.Options{Path: "/bin/true", New: namespace.UTS, Hostname: strings.Repeat("h", 100)}), "longer than the kernel's 64", nil, ""},
		{"host name without UTS", namespace.Options{Path: "/bin/true", Hostname: "x"}, "Hostname needs a new uts namespace", nil, ""},
		{"MountProc without PID", withUser(namespace.Options{Path: "/bin/true", New: namespace.Mount, MountProc: true}), "MountProc needs a new mnt|pid namespace", nil, ""},
		{"offset without time", namespace.Options{Path: "/bin/true", BoottimeOffset: time.Hour}, "BoottimeOffset needs a new time", nil, ""},
		{"unmapped credential", withUser(namespace.Options{Path: "/bin/true", Credential: &namespace.Credential{UID: 5}}), "Credential.UID 5 is not mapped", nil, ""},
		{"map without 0 or caller", namespace.Options{Path: "/bin/true", New: namespace.User, UIDMap: idmap.Map{rng(5, 4000000, 1)}}, "set Credential", nil, ""},
		{"bad SetGroups", namespace.Options{Path: "/bin/true", SetGroups: 9}, "invalid SetGroups", nil, ""},
		{"bad death signal", namespace.Options{Path: "/bin/true", ParentDeathSignal: 99}, "invalid ParentDeathSignal", nil, ""},
		{"NUL in argument", namespace.Options{Path: "/bin/true", Args: []string{"a\x00b"}}, "Args", nil, ""},
		{"missing program", namespace.Options{Path: "/nonexistent/program"}, "child execve: no such file", os.ErrNotExist, "execve"},
		{"program not executable", namespace.Options{Path: notExec}, "child execve: permission denied", os.ErrPermission, "execve"},
		{"missing Dir", namespace.Options{Path: "/bin/true", Dir: "/nonexistent/dir"}, "child chdir /nonexistent/dir", os.ErrNotExist, "chdir /nonexistent/dir"},
		{"missing program in new namespaces", withUser(namespace.Options{Path: "/nonexistent", New: namespace.PID | namespace.Mount | namespace.UTS, MountProc: true, Hostname: "x"}), "child execve", os.ErrNotExist, "execve"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := takeCounts(t)
			p, err := namespace.Spawn(tc.opts)
			if err == nil {
				p.Wait()
				t.Fatalf("Spawn succeeded, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "spawn ") {
				t.Errorf("error %q, want one starting with spawn and containing %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.is)
			}
			var ce *namespace.ChildError
			if isChild := errors.As(err, &ce); isChild != (tc.inStep != "") || (isChild && ce.Step != tc.inStep) {
				t.Errorf("error %#v: want ChildError at step %q", err, tc.inStep)
			}
			checkNoLeak(t, before)
		})
	}
}

// TestSpawnMapWriteFails makes the parent's map write fail: the child must be
// killed and reaped.
func TestSpawnMapWriteFails(t *testing.T) {
	if privileged {
		t.Skip("root may map any ID; the unprivileged run makes the write fail")
	}
	before := takeCounts(t)
	_, err := namespace.Spawn(namespace.Options{
		Path: "/bin/true", New: namespace.User,
		UIDMap: idmap.Map{{Inside: 0, Outside: 0, Count: 1}}, // not ours to map
	})
	// Without privilege, a map of another ID than one's own goes to
	// newuidmap, which finds no delegation for it.
	if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "/etc/subuid") {
		t.Errorf("Spawn = %v, want a permission error naming /etc/subuid", err)
	}
	checkNoLeak(t, before)
}

func TestSpawnUnprivilegedNamespaceRefused(t *testing.T) {
	if privileged {
		t.Skip("root may create any namespace without a user namespace")
	}
	_, err := namespace.Spawn(namespace.Options{Path: "/bin/true", New: namespace.UTS})
	if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "clone") {
		t.Errorf("Spawn(New: uts) as uid %d = %v, want clone: operation not permitted", os.Getuid(), err)
	}
}

func TestSpawnTimeOffsets(t *testing.T) {
	opts := namespace.Options{New: namespace.Time, MonotonicOffset: -90 * time.Second, BoottimeOffset: 48*time.Hour + 500*time.Millisecond}
	if !privileged {
		opts.New |= namespace.User
		opts.UIDMap, opts.GIDMap = ownMaps()
	}
	out := run(t, opts, "cat /proc/self/timens_offsets")
	want := "monotonic         -90         0\nboottime       172800 500000000\n"
	if strings.Join(strings.Fields(out), " ") != strings.Join(strings.Fields(want), " ") {
		t.Errorf("timens_offsets inside:\n%s\nwant\n%s", out, want)
	}
}

// TestSpawnMapsOneP spawns with ID maps on a single P while another
// goroutine forces collections. The child waits for its maps; whatever
// writes them must not need the one P while the cloning thread holds it, as
// an earlier design did (the child asked another goroutine for its maps
// while the cloning thread slept in vfork), or the collector's stop of the
// world waits forever. A helper process does it, so that a deadlock, which
// would stop this process's timers too, shows as a helper that does not
// finish.
func TestSpawnMapsOneP(t *testing.T) {
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = withEnv("NSGO_NAMESPACE_HELPER=one-p", "GOMAXPROCS=1")
	out, err := runWithin(cmd, time.Minute)
	if err != nil || !strings.Contains(string(out), "one-p: ok") {
		t.Fatalf("helper: %v\n%s", err, out)
	}
}

// runWithin runs cmd and returns its combined output, killing it after d.
func runWithin(cmd *exec.Cmd, d time.Duration) ([]byte, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	timer := time.AfterFunc(d, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	if !timer.Stop() {
		err = fmt.Errorf("stuck for %v, killed: %v", d, err)
	}
	return out.Bytes(), err
}

// onePHelper spawns 50 programs with maps under GOMAXPROCS=1 and constant
// garbage collection.
func onePHelper() error {
	if runtime.GOMAXPROCS(0) != 1 {
		return fmt.Errorf("GOMAXPROCS is %d", runtime.GOMAXPROCS(0))
	}
	uidMap, gidMap := rootMaps()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	for range 50 {
		p, err := namespace.Spawn(namespace.Options{Path: "/bin/true", New: namespace.User | namespace.UTS, UIDMap: uidMap, GIDMap: gidMap})
		if err != nil {
			return err
		}
		if st, err := p.Wait(); err != nil || !st.Success() {
			return fmt.Errorf("/bin/true: %v %v", st, err)
		}
	}
	return nil
}

// TestSpawnSignalState checks the signal state a program starts with, for
// each way Spawn clones (vfork, and a stack of the child's own with ID maps:
// each by clone3, which resets the handlers, and by clone, after which the
// child does; a copy for a time namespace), against os/exec's child in the same process:
// the same blocked signals and the same ignored ones, with SIGHUP ignored
// here so that the set is not empty. Each child starts with every signal
// blocked and the parent's handlers, and must undo both before execve.
func TestSpawnSignalState(t *testing.T) {
	signal.Ignore(syscall.SIGHUP)
	defer signal.Reset(syscall.SIGHUP)
	// grep itself, not through a shell, which may change the mask.
	args := []string{"grep", "-E", "^Sig(Blk|Ign|Cgt)", "/proc/self/status"}
	out, err := exec.Command("/bin/grep", args[1:]...).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := string(out)
	// SIGHUP is bit 0 of the ignored set, the last hex digit.
	if ign, ok := statusField(want, "SigIgn"); !ok || !strings.ContainsAny(ign[len(ign)-1:], "13579bdf") {
		t.Fatalf("os/exec's child does not ignore SIGHUP:\n%s", want)
	}
	uidMap, gidMap := ownMaps()
	for _, tc := range []struct {
		name string
		opts namespace.Options
	}{
		{"vfork", namespace.Options{}},
		{"vfork, clone", namespace.Options{}},
		{"own stack", namespace.Options{New: namespace.User | namespace.UTS, UIDMap: uidMap, GIDMap: gidMap}},
		{"own stack, clone", namespace.Options{New: namespace.User | namespace.UTS, UIDMap: uidMap, GIDMap: gidMap}},
		{"copy", namespace.Options{New: namespace.User | namespace.Time, UIDMap: uidMap, GIDMap: gidMap}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strings.HasSuffix(tc.name, ", clone") {
				// As on a kernel without clone3: the child resets its
				// handlers itself.
				defer namespace.SetNoClone3(namespace.SetNoClone3(true))
			}
			var got strings.Builder
			tc.opts.Path, tc.opts.Args, tc.opts.Stdout = "/bin/grep", args, &got
			if err := waitOK(namespace.Spawn(tc.opts)); err != nil {
				t.Fatal(err)
			}
			if got.String() != want {
				t.Errorf("program's signal state:\n%s\nos/exec's child:\n%s", got.String(), want)
			}
		})
	}
}

// statusField returns the value of a field of /proc/PID/status text.
func statusField(status, name string) (string, bool) {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			v = strings.TrimSpace(v)
			return v, v != ""
		}
	}
	return "", false
}

// TestSpawnTimeShortLived spawns programs that exit at once into new time
// namespaces: a check after the start once failed when the program was
// already gone.
func TestSpawnTimeShortLived(t *testing.T) {
	opts := namespace.Options{Path: "/bin/true", New: namespace.Time, BoottimeOffset: time.Hour}
	if !privileged {
		opts.New |= namespace.User
		opts.UIDMap, opts.GIDMap = ownMaps()
	}
	for range 100 {
		p, err := namespace.Spawn(opts)
		if err != nil {
			t.Fatal(err)
		}
		if st, err := p.Wait(); err != nil || !st.Success() {
			t.Fatal(st, err)
		}
	}
}

func TestSpawnSignalAndWait(t *testing.T) {
	p, err := namespace.Spawn(namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "100"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if ws := st.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("state %v, want killed by SIGTERM", st)
	}
	if st2, err2 := p.Wait(); st2 != st || err2 != err {
		t.Error("second Wait gave another result")
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("Signal after Wait = %v, want os.ErrProcessDone", err)
	}
	if _, err := p.Namespaces(); !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("Namespaces after Wait = %v, want os.ErrProcessDone", err)
	}
}

// TestSpawnParentDeathSignal spawns programs with a ParentDeathSignal from
// threads that then end (a goroutine that exits locked, as Unshare and Do do
// with threads they cannot prove clean, and Unshare itself): the programs
// must live on while this process does.
func TestSpawnParentDeathSignal(t *testing.T) {
	opts := namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "100"}, ParentDeathSignal: syscall.SIGKILL}
	var procs []*namespace.Process
	defer func() {
		for _, p := range procs {
			p.Kill()
			p.Wait()
		}
	}()
	for _, path := range namespace.ChildPaths {
		if path == "own stack" && raceEnabled && testing.CoverMode() != "" {
			continue // see skipOwnStackUnderRaceCover
		}
		namespace.SetChildPath(path)
		namespace.OnOwnThread(func() bool {
			p, err := namespace.Spawn(opts)
			if err != nil {
				t.Error(err)
			} else {
				procs = append(procs, p)
			}
			return false // the runtime ends this thread
		})
		namespace.SetChildPath("")
	}
	if privileged {
		for range 3 {
			h, err := namespace.Unshare(namespace.Net)
			if err != nil {
				t.Fatal(err)
			}
			h.Close()
		}
	}
	time.Sleep(200 * time.Millisecond)
	for _, p := range procs {
		if state := procState(p.Pid); state == "" || state == "Z" {
			t.Errorf("pid %d got its parent-death signal while its parent lives (state %q)", p.Pid, state)
		}
	}
}

// procState returns the state letter of /proc/PID/stat, or "" if the
// process is gone.
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	if fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]); len(fields) > 0 {
		return fields[0]
	}
	return ""
}

// TestSpawnParentDeathSignalProcessExits runs a helper process that spawns a
// program with a ParentDeathSignal and exits: the program must get it.
func TestSpawnParentDeathSignalProcessExits(t *testing.T) {
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = append(os.Environ(), "NSGO_NAMESPACE_HELPER=pdeath")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	var pid int
	if _, err := fmt.Sscanf(string(out), "pid=%d", &pid); err != nil {
		t.Fatalf("helper printed %q", out)
	}
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		if state := procState(pid); state == "" || state == "Z" {
			return
		}
		if time.Since(start) > 10*time.Second {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("pid %d outlived the process that spawned it by 10s", pid)
		}
	}
}

// pdeathHelper spawns sleep with a ParentDeathSignal, prints its PID and
// returns, so that the process exits.
func pdeathHelper() error {
	p, err := namespace.Spawn(namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "100"}, ParentDeathSignal: syscall.SIGKILL})
	if err != nil {
		return err
	}
	fmt.Printf("pid=%d\n", p.Pid)
	return nil
}

// TestSpawnLoop spawns many times, failing and succeeding, from several
// goroutines, and checks that the process gives back every descriptor and
// child.
func TestSpawnLoop(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 50
	}
	uidMap, gidMap := ownMaps()
	before := takeCounts(t)
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := range n / 4 {
				// setgroups denied: under -race the child then maps its
				// own IDs itself and is no copy, which -race -cover can
				// deadlock when spawns run at once (see choosePath).
				opts := namespace.Options{Path: "/bin/true", New: namespace.User | namespace.UTS, UIDMap: uidMap, GIDMap: gidMap, Hostname: "h", SetGroups: idmap.Deny}
				if (i+g)%3 == 0 {
					opts.Path = "/nonexistent"
				}
				p, err := namespace.Spawn(opts)
				if opts.Path == "/nonexistent" {
					if !errors.Is(err, os.ErrNotExist) {
						errs <- fmt.Errorf("spawn of missing program: %v", err)
						return
					}
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				if st, err := p.Wait(); err != nil || !st.Success() {
					errs <- fmt.Errorf("wait: %v %v", st, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// Up to a thread per worker blocked in a system call and one per P
	// (threads grew by 2 to 5 in 50 runs); a thread lost per spawn would
	// show as hundreds.
	checkNoLeakThreads(t, before, 4+runtime.GOMAXPROCS(0)+2)
}

// TestUnprivileged runs this package's tests again as uid 65534, so that a
// root run of `go test ./...` covers both privilege paths.
func TestUnprivileged(t *testing.T) {
	if !privileged {
		t.Skip("already unprivileged")
	}
	if os.Getenv("NSGO_NO_REEXEC") != "" {
		t.Skip("NSGO_NO_REEXEC is set")
	}
	var out strings.Builder
	p, err := namespace.Spawn(namespace.Options{
		Path:       "/proc/self/exe",
		Args:       []string{"namespace.test", "-test.v", "-test.count=1", "-test.short"},
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
	ran := strings.Count(out.String(), "--- PASS")
	if ran < 10 || !strings.Contains(out.String(), "--- PASS: TestSpawnEveryKind") {
		t.Fatalf("as uid 65534 only %d tests passed:\n%s", ran, out.String())
	}
	skipped := slices.DeleteFunc(strings.Split(out.String(), "\n"), func(l string) bool { return !strings.Contains(l, "--- SKIP") })
	t.Logf("as uid 65534: %d passed; skipped: %q", ran, skipped)
}

// TestSpawnEnvDuplicates gives the same key twice: the last value wins, and
// the program sees the key once, as os/exec's child does.
func TestSpawnEnvDuplicates(t *testing.T) {
	env := []string{"A=1", "B=x", "A=2", "C=", "B=y"}
	var b strings.Builder
	if err := waitOK(namespace.Spawn(namespace.Options{Path: "/usr/bin/env", Env: env, Stdout: &b})); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	cmd := exec.Command("/usr/bin/env")
	cmd.Env = env
	theirs, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if out != string(theirs) {
		t.Errorf("environment %q, os/exec's child %q", out, theirs)
	}
	if strings.Count(out, "A=") != 1 || !strings.Contains(out, "A=2\n") || !strings.Contains(out, "B=y\n") {
		t.Errorf("environment %q: want A=2 and B=y once each", out)
	}
}
