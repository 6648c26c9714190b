package namespace_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	mbits "math/bits"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// The combination matrix: every child path (vfork, own stack, copy: each
// forced through a test hook, so that the path other architectures take runs
// here too) times every combination of new kinds, for Spawn, and of joined
// kinds with new ones inside them, for Handle.Spawn into a target that
// util-linux's unshare made with every kind. Each cell checks that the
// program ran (its marker), that it is in exactly the namespaces asked for
// (from outside, with procfs), that Wait returns its exit status (7), that
// no descriptor of the caller's changed (a regular file held at the
// descriptor numbers a child's shuffle moves its error pipe to must stay
// empty), and the counts of descriptors, children, threads and mounts
// before and after each path's run.

// matrixKinds are the kinds the matrix combines.
var matrixKinds = []namespace.Kind{namespace.User, namespace.PID, namespace.Time, namespace.Mount,
	namespace.UTS, namespace.IPC, namespace.Net, namespace.Cgroup}

// kindSet returns the kinds of ks whose bits are set in bits.
func kindSet(ks []namespace.Kind, bits int) namespace.Kind {
	var k namespace.Kind
	for i, kind := range ks {
		if bits&(1<<i) != 0 {
			k |= kind
		}
	}
	return k
}

// matrixScript is the program of every cell: it waits for a line, so that
// the test can look at it from outside, then prints a marker and the host
// name and exits 7.
const matrixScript = `read x; echo marker; cat /proc/sys/kernel/hostname; exit 7`

const matrixStatus = 7

// matrixRig is what the cells of one run share: the sentinel file held at
// high descriptors, and the caller's own namespaces.
type matrixRig struct {
	sentinel *os.File
	held     []int
	self     map[namespace.Kind]procfs.ID
	host     string
	extra    []*os.File // nil entries: descriptors 3..42 closed in the program
}

func newMatrixRig(t *testing.T) *matrixRig {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "sentinel")
	if err != nil {
		t.Fatal(err)
	}
	r := &matrixRig{sentinel: f, extra: make([]*os.File, 40)}
	// With 43 descriptors for the program, a child moves its error pipe
	// to the first number above them: 43 and up, held here by a file the
	// caller cares about.
	for fd := 43; fd < 80; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
			continue // in use by something else: leave it
		}
		if err := unix.Dup3(int(f.Fd()), fd, unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		r.held = append(r.held, fd)
	}
	t.Cleanup(func() {
		for _, fd := range r.held {
			unix.Close(fd)
		}
		f.Close()
	})
	if r.self, err = procfs.Namespaces(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	r.host = hostname()
	return r
}

// cell is one combination to run.
type cell struct {
	name    string
	tpid    int // the target to join, if joined is not 0
	target  map[namespace.Kind]procfs.ID
	joined  namespace.Kind // 0: the package-level Spawn
	noPidfd bool           // Handle.Spawn enters kind by kind, not through the pidfd
	opts    namespace.Options
	wantErr error // the error the kernel must give, or nil
}

// run runs one cell and returns what went wrong, or "".
func (r *matrixRig) run(c cell) string {
	opts := c.opts
	opts.Path, opts.Args = "/bin/sh", []string{"sh", "-c", matrixScript}
	opts.ExtraFiles = r.extra
	in, inW, err := os.Pipe()
	if err != nil {
		return err.Error()
	}
	defer inW.Close()
	var out strings.Builder
	opts.Stdin, opts.Stdout, opts.Stderr = in, &out, &out
	var p *namespace.Process
	if c.joined != 0 {
		var h *namespace.Handle
		if h, err = namespace.Join(c.tpid, c.joined); err != nil {
			return "join: " + err.Error()
		}
		if c.noPidfd {
			namespace.SetJoinPidfd(false)
		}
		p, err = h.Spawn(opts)
		namespace.SetJoinPidfd(true)
		h.Close()
	} else {
		p, err = namespace.Spawn(opts)
	}
	in.Close()
	if problem := r.sentinelChanged(); problem != "" {
		if p != nil {
			inW.Close()
			problem += "; " + waitBounded(p, true)
		}
		return problem
	}
	if c.wantErr != nil {
		if p != nil {
			inW.Close()
			return fmt.Sprintf("spawned pid %d, want an error matching %v; %s", p.Pid, c.wantErr, waitBounded(p, true))
		}
		if !errors.Is(err, c.wantErr) {
			return fmt.Sprintf("error %v, want one matching %v", err, c.wantErr)
		}
		return ""
	}
	if err != nil {
		return "spawn: " + err.Error()
	}
	var problems []string
	// The maps asked for, read back from outside, whoever wrote them:
	// the parent, or the child itself.
	for _, m := range []struct {
		want idmap.Map
		read func(int) (idmap.Map, error)
	}{{c.opts.UIDMap, idmap.ReadUIDMap}, {c.opts.GIDMap, idmap.ReadGIDMap}} {
		if m.want == nil {
			continue
		}
		if got, err := m.read(p.Pid); err != nil || got.String() != m.want.String() {
			problems = append(problems, fmt.Sprintf("map %q, want %q (%v)", got.String(), m.want.String(), err))
		}
	}
	got, err := procfs.Namespaces(p.Pid)
	if err != nil {
		problems = append(problems, "reading its namespaces: "+err.Error())
	}
	for _, k := range matrixKinds {
		if err != nil {
			break
		}
		mine, theirs := r.self[k], c.target[k]
		switch {
		case c.opts.New.Has(k):
			if got[k] == mine || (c.joined.Has(k) && got[k] == theirs) {
				problems = append(problems, fmt.Sprintf("%s: not new (%v)", k, got[k]))
			}
		case c.joined.Has(k):
			if got[k] != theirs {
				problems = append(problems, fmt.Sprintf("%s: %v, not the target's %v", k, got[k], theirs))
			}
		default:
			if got[k] != mine {
				problems = append(problems, fmt.Sprintf("%s: %v, not the caller's %v", k, got[k], mine))
			}
		}
	}
	if c.opts.New.Has(namespace.PID) && c.joined.Has(namespace.PID) {
		// The new PID namespace is made inside the joined one.
		if parent, err := pidParent(p.Pid); err != nil || parent != c.target[namespace.PID] {
			problems = append(problems, fmt.Sprintf("pid: the parent of the new namespace is %v (%v), not the target's %v", parent, err, c.target[namespace.PID]))
		}
	}
	inW.Write([]byte("go\n"))
	inW.Close()
	if problem := waitBounded(p, false); problem != "" {
		problems = append(problems, problem)
	}
	host := r.host
	if c.opts.Hostname != "" {
		host = c.opts.Hostname
	}
	if want := "marker\n" + host + "\n"; out.String() != want {
		problems = append(problems, fmt.Sprintf("output %q, want %q", out.String(), want))
	}
	if problem := r.sentinelChanged(); problem != "" {
		problems = append(problems, problem)
	}
	return strings.Join(problems, "; ")
}

// waitBounded waits for p, killing it first if kill is set, and returns what
// went wrong: Wait not returning within 20s (the program, or another
// process holding its output pipe, lives on: p is then killed), an error,
// or another exit status than matrixStatus.
func waitBounded(p *namespace.Process, kill bool) string {
	if kill {
		p.Kill()
	}
	done := make(chan struct{})
	var st *os.ProcessState
	var err error
	go func() { st, err = p.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		p.Kill()
		select {
		case <-done:
			return "the program did not exit within 20s"
		case <-time.After(5 * time.Second):
			return "Wait did not return within 25s: another process holds the program's output"
		}
	}
	switch {
	case kill:
		return ""
	case err != nil:
		return "wait: " + err.Error()
	case st.ExitCode() != matrixStatus:
		return fmt.Sprintf("wait: %v, want exit status %d", st, matrixStatus)
	}
	return ""
}

func (r *matrixRig) sentinelChanged() string {
	fi, err := r.sentinel.Stat()
	if err != nil {
		return err.Error()
	}
	if fi.Size() != 0 {
		b, _ := os.ReadFile(r.sentinel.Name())
		r.sentinel.Truncate(0)
		return fmt.Sprintf("something wrote %q into the caller's file at descriptors %v", b, r.held)
	}
	return ""
}

// mountCount is the number of mounts in the caller's mount namespace.
func mountCount(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// runCells runs cells, on one child path, and checks the counts around them.
func runCells(t *testing.T, r *matrixRig, path string, cells []cell) {
	t.Helper()
	defer namespace.SetChildPath(namespace.SetChildPath(path))
	before, mounts := takeCounts(t), mountCount(t)
	failed := 0
	for _, c := range cells {
		if problem := r.run(c); problem != "" {
			failed++
			if failed <= 20 {
				t.Errorf("%s: %s", c.name, problem)
			}
		}
	}
	if failed > 20 {
		t.Errorf("... %d cells failed in all", failed)
	}
	t.Logf("%d cells", len(cells))
	checkNoLeakThreads(t, before, 4)
	if after := mountCount(t); after != mounts {
		t.Errorf("mounts: %d before, %d after", mounts, after)
	}
}

// onCopyOnly reports whether cells with these kinds can run only on the
// copying path: setns and unshare of a time namespace refuse a task that
// shares its memory, so Spawn never takes another path for them.
func onCopyOnly(k namespace.Kind) bool { return k.Has(namespace.Time) }

// TestMatrixSpawn runs Spawn on every child path with every combination of
// the eight kinds.
func TestMatrixSpawn(t *testing.T) {
	r := newMatrixRig(t)
	uidMap, gidMap := ownMaps()
	for _, path := range namespace.ChildPaths {
		t.Run(path, func(t *testing.T) {
			skipOwnStackUnderRaceCover(t, path)
			var cells []cell
			for bits := range 1 << len(matrixKinds) {
				c := cell{opts: namespace.Options{New: kindSet(matrixKinds, bits)}}
				n := c.opts.New
				c.name = "new " + n.String()
				if path != "copy" && onCopyOnly(n) {
					continue
				}
				// A vfork child with maps writes them itself, which
				// takes setgroups denied (it is how -race builds map
				// own IDs); every other one gets a user namespace
				// without maps, where it has every capability until
				// execve.
				if n.Has(namespace.User) && (path != "vfork" || bits%4 < 2) {
					c.opts.UIDMap, c.opts.GIDMap = uidMap, gidMap
					if path == "vfork" {
						c.opts.SetGroups = idmap.Deny
					}
				}
				if n.Has(namespace.UTS) {
					c.opts.Hostname = fmt.Sprintf("m%d", bits)
				}
				c.opts.MountProc = n.Has(namespace.PID | namespace.Mount)
				if !privileged && n != 0 && !n.Has(namespace.User) {
					c.wantErr = os.ErrPermission
				}
				cells = append(cells, c)
			}
			runCells(t, r, path, cells)
		})
	}
}

// TestMatrixHandleSpawn runs Handle.Spawn on every child path into every
// combination of the target's eight kinds, each with new kinds inside them:
// every pair of a joined (or not joined) kind and a new kind is covered on
// each path.
func TestMatrixHandleSpawn(t *testing.T) {
	r := newMatrixRig(t)
	tpid := unshareTarget(t)
	target, err := procfs.Namespaces(tpid)
	if err != nil {
		t.Fatal(err)
	}
	for k, id := range target {
		if r.self[k] == id {
			t.Fatalf("the target shares the caller's %s namespace", k)
		}
	}
	newKinds := matrixKinds[1:] // no new user namespace inside a Handle's
	for pi, path := range namespace.ChildPaths {
		t.Run(path, func(t *testing.T) {
			skipOwnStackUnderRaceCover(t, path)
			var cells []cell
			covered := map[string]bool{}
			pairs := func(j, n namespace.Kind) []string {
				var keys []string
				for _, jk := range matrixKinds {
					for nk := range n.Each() {
						keys = append(keys, fmt.Sprintf("%s joined %v, %s new", jk, j.Has(jk), nk))
					}
				}
				return keys
			}
			for bits := 1; bits < 1<<len(matrixKinds); bits++ {
				j := kindSet(matrixKinds, bits)
				if path != "copy" && onCopyOnly(j) {
					continue
				}
				// The new kinds: those that cover the most pairs of a
				// joined (or not joined) kind and a new kind that no
				// cell so far has, the first such from a start that
				// moves with bits and the path.
				var n namespace.Kind
				best := -1
				for i := range 1 << len(newKinds) {
					cand := kindSet(newKinds, (i+bits*37+pi*11)%(1<<len(newKinds)))
					if path != "copy" && onCopyOnly(cand) {
						continue
					}
					score := 0
					for _, key := range pairs(j, cand) {
						if !covered[key] {
							score++
						}
					}
					if score > best {
						n, best = cand, score
					}
				}
				for _, key := range pairs(j, n) {
					covered[key] = true
				}
				// Every other cell enters through the descriptors,
				// kind by kind, as without a pidfd: those with an odd
				// number of joined kinds, which no one kind decides.
				noPidfd := mbits.OnesCount(uint(bits))%2 == 1
				c := cell{name: fmt.Sprintf("join %s, new %s, pidfd %v", j, n, !noPidfd), tpid: tpid, target: target, joined: j, noPidfd: noPidfd,
					opts: namespace.Options{New: n, MountProc: n.Has(namespace.PID | namespace.Mount)}}
				if n.Has(namespace.UTS) {
					c.opts.Hostname = fmt.Sprintf("h%d", bits)
				}
				switch {
				case !privileged && !j.Has(namespace.User):
					// Without the target's user namespace, an
					// unprivileged caller has no right to enter or
					// create anything.
					c.wantErr = os.ErrPermission
				case j.Has(namespace.PID) && n.Has(namespace.PID) && !j.Has(namespace.User):
					// The target's user namespace owns its PID
					// namespace: only a process in it (or below)
					// can make one inside.
					c.wantErr = unix.EINVAL
				}
				cells = append(cells, c)
			}
			for _, jk := range matrixKinds {
				for _, nk := range newKinds {
					if path != "copy" && (onCopyOnly(jk) || onCopyOnly(nk)) {
						continue
					}
					for _, joined := range []bool{true, false} {
						if key := fmt.Sprintf("%s joined %v, %s new", jk, joined, nk); !covered[key] {
							t.Errorf("no cell has %s", key)
						}
					}
				}
			}
			runCells(t, r, path, cells)
		})
	}
}

// skipOwnStackUnderRaceCover skips the own-stack path where Spawn never
// takes it: under the race detector with coverage, whose counters call the
// race runtime, which needs a goroutine such a child does not have (see
// choosePath).
func skipOwnStackUnderRaceCover(t *testing.T, path string) {
	if path == "own stack" && raceEnabled && testing.CoverMode() != "" {
		t.Skip("under -race -cover Spawn takes no own-stack child")
	}
}

// unshareTarget starts sleep in new namespaces of every kind, made by
// util-linux's unshare, and returns its PID; it is killed when the test
// ends.
func unshareTarget(t *testing.T) int {
	t.Helper()
	return startUnshare(t, "--pid", "--time", "--mount", "--uts", "--ipc", "--net",
		"--cgroup", "--user", "--map-root-user", "--mount-proc")
}

// startUnshare runs util-linux's unshare --fork --kill-child with flags, and
// then sleep in what it made (after more commands if flags ends with some),
// and returns the sleep's PID; it is killed when the test ends.
func startUnshare(t *testing.T, flags ...string) int {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("util-linux unshare not installed:", err)
	}
	args := append([]string{"--fork", "--kill-child"}, flags...)
	cmd := exec.Command("unshare", append(args, "sh", "-c", "echo ready; exec sleep 1000")...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// unshare ignores SIGTERM while it waits; --kill-child then kills
		// the sleep, the PID namespace's init.
		cmd.Process.Kill()
		cmd.Wait()
	})
	if line, err := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
		t.Fatalf("unshare: %q %v", line, err)
	}
	go io.Copy(io.Discard, out)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("unshare's children: %q", b)
	}
	return pid
}

// pidParent returns the parent of process pid's PID namespace.
func pidParent(pid int) (procfs.ID, error) {
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/pid", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return procfs.ID{}, err
	}
	defer unix.Close(fd)
	parent, err := unix.IoctlRetInt(fd, unix.NS_GET_PARENT)
	if err != nil {
		return procfs.ID{}, fmt.Errorf("ioctl NS_GET_PARENT: %w", err)
	}
	defer unix.Close(parent)
	return procfs.StatFD(parent)
}
