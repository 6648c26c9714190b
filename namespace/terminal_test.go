package namespace_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// The terminal options are checked from outside, in /proc/PID/stat of the
// running program (session, pgrp, tty_nr and tpgid, the terminal's
// foreground group) and its SigBlk, and from inside: whether /dev/tty opens
// (a controlling terminal), what tty(1) prints, and what ps(1) says of the
// program's own group, session and terminal's foreground group. Every
// observation is turned into symbols (self, caller, pts, none, ...) so that
// nsgo's program and os/exec's, started with the same SysProcAttr, compare
// side by side.

// openPty opens a new pseudo-terminal pair, as posix_openpt(3),
// grantpt(3), unlockpt(3) and ptsname(3) do, and returns the master, the
// replica and the replica's device number as /proc/PID/stat shows it in
// tty_nr.
func openPty(t testing.TB) (master, replica *os.File, ttyNr int) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var n uint32
	rc, err := m.SyscallConn()
	if err == nil {
		cerr := rc.Control(func(fd uintptr) {
			if err = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); err == nil {
				n, err = unix.IoctlGetUint32(int(fd), unix.TIOCGPTN)
			}
		})
		if err == nil {
			err = cerr
		}
	}
	if err != nil {
		m.Close()
		t.Fatal("unlocking the pty:", err)
	}
	r, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(r.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); m.Close() })
	major, minor := int(unix.Major(st.Rdev)), int(unix.Minor(st.Rdev))
	return m, r, minor&0xff | major<<8 | (minor&^0xff)<<12
}

// procStat is what /proc/PID/stat says of a process's session and terminal.
type procStat struct{ pgrp, session, ttyNr, tpgid int }

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 6 {
		return procStat{}, fmt.Errorf("short /proc/%d/stat: %q", pid, s)
	}
	var v [4]int
	for i := range v {
		if v[i], err = strconv.Atoi(f[2+i]); err != nil {
			return procStat{}, err
		}
	}
	return procStat{pgrp: v[0], session: v[1], ttyNr: v[2], tpgid: v[3]}, nil
}

// sigBlk returns the SigBlk line of /proc/PID/status.
func sigBlk(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "SigBlk:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// ttyScript is the program of every terminal test: it says what it sees,
// then waits on descriptor 3 until the test has looked at it from outside.
const ttyScript = `c=no; (: </dev/tty) 2>/dev/null && c=yes
echo "inside ctty=$c tty=$(tty) ps=[$(ps -o pid=,pgid=,sid=,tpgid= -p $$)]"
echo ready
read x <&3 || :`

// ttyRun is one program under observation.
type ttyRun struct {
	pid  int
	wait func() error
}

// symbols names the IDs an observation may show.
type symbols struct {
	pid, ttyNr int
	caller     procStat
	group      int // a process group the program was asked to join, or 0
}

func (y symbols) id(v int, what string) string {
	switch {
	case v == y.pid:
		return "self"
	case y.group != 0 && v == y.group:
		return "group"
	case what == "tty" && v == y.ttyNr:
		return "pts"
	case what == "tty" && v == 0, what == "tpgid" && v == -1:
		return "none"
	case what == "session" && v == y.caller.session, what == "pgrp" && v == y.caller.pgrp,
		what == "tty" && v == y.caller.ttyNr, what == "tpgid" && v == y.caller.tpgid:
		return "caller"
	}
	return strconv.Itoa(v)
}

// outside describes st in symbols.
func (y symbols) outside(st procStat) string {
	return fmt.Sprintf("session=%s pgrp=%s tty=%s tpgid=%s",
		y.id(st.session, "session"), y.id(st.pgrp, "pgrp"), y.id(st.ttyNr, "tty"), y.id(st.tpgid, "tpgid"))
}

// inside describes the program's own line: its controlling terminal, and
// its group, session and terminal's foreground group against its PID.
func inside(line string) string {
	var ctty, tty, ps string
	for _, f := range strings.SplitN(line, " ", 4)[1:] {
		switch {
		case strings.HasPrefix(f, "ctty="):
			ctty = f[5:]
		case strings.HasPrefix(f, "tty=/dev/pts/"):
			tty = "pts"
		case strings.HasPrefix(f, "tty="):
			tty = "none"
		}
	}
	if i := strings.Index(line, "ps=["); i >= 0 {
		ps = strings.TrimSuffix(line[i+4:], "]")
	}
	v := strings.Fields(ps)
	if len(v) != 4 {
		return fmt.Sprintf("unreadable %q", line)
	}
	rel := func(x string) string {
		switch x {
		case v[0]:
			return "self"
		case "-1":
			return "none"
		}
		return "other"
	}
	pid1 := ""
	if v[0] == "1" {
		pid1 = " pid=1"
	}
	return fmt.Sprintf("ctty=%s tty=%s pgid=%s sid=%s tpgid=%s%s", ctty, tty, rel(v[1]), rel(v[2]), rel(v[3]), pid1)
}

// observe starts a program through start, waits until it has said what it
// sees on out (read until end-of-file by a goroutine), reads its
// /proc/PID/stat, lets it end, and returns the observations: outside
// (symbols of y, whose pid it sets), its SigBlk, and inside.
func observe(t *testing.T, y symbols, out *os.File, start func(ctl *os.File) (ttyRun, error)) (outsideSeen, blk, insideSeen string, err error) {
	t.Helper()
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer ctlW.Close()
	var mu sync.Mutex
	var buf strings.Builder
	copied := make(chan struct{})
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := out.Read(b)
			mu.Lock()
			buf.Write(b[:n])
			mu.Unlock()
			if err != nil {
				close(copied)
				return
			}
		}
	}()
	text := func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.ReplaceAll(buf.String(), "\r", "")
	}
	r, err := start(ctlR)
	ctlR.Close()
	if err != nil {
		out.Close()
		<-copied
		return "", "", "", err
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(text(), "ready\n") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	y.pid = r.pid
	st, serr := readProcStat(r.pid)
	blk = sigBlk(r.pid)
	ctlW.Close()
	werr := r.wait()
	out.Close()
	<-copied
	if serr != nil || werr != nil || !strings.Contains(text(), "ready\n") {
		return "", "", "", fmt.Errorf("stat %v, wait %v, output:\n%s", serr, werr, text())
	}
	for _, l := range strings.Split(text(), "\n") {
		if strings.HasPrefix(l, "inside ") {
			insideSeen = inside(l)
		}
	}
	return y.outside(st), blk, insideSeen, nil
}

// ttyCase is one combination of the terminal options.
type ttyCase struct {
	name string
	opts namespace.Options
	attr *syscall.SysProcAttr // os/exec's equivalent, or nil where it has none
	ctty int                  // the program's descriptor of the terminal; others are the pty too, if 0
	// want is the outside and inside observations, with "caller" standing
	// for the caller's own terminal, "ctty" for the caller's inside view.
	outside, inside string
	hostOnly        bool // the Pgid of a group in the caller's PID namespace
}

// nsVariant is where the program runs: in the caller's namespaces, in new
// user, PID and mount namespaces, or in those of a running process through
// Handle.Spawn (the program forked once more into the PID namespace).
type nsVariant struct {
	name  string
	opts  func(o *namespace.Options)
	spawn func(o namespace.Options) (*namespace.Process, error)
}

func ttyVariants(t *testing.T) []nsVariant {
	uid, gid := ownMaps()
	newNS := func(o *namespace.Options) {
		o.New = namespace.User | namespace.PID | namespace.Mount
		o.UIDMap, o.GIDMap, o.SetGroups, o.MountProc = uid, gid, idmap.Deny, true
	}
	// The target of the joins leads a process group of its own, 1 in its
	// PID namespace.
	in, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	topts := namespace.Options{Path: "/bin/sh", Args: []string{"sh", "-c", "read x"}, Stdin: in, Setpgid: true}
	newNS(&topts)
	old := namespace.SetChildPath("")
	target, err := namespace.Spawn(topts)
	namespace.SetChildPath(old)
	if err != nil {
		inW.Close()
		t.Fatal(err)
	}
	h, err := namespace.Join(target.Pid, namespace.User|namespace.PID|namespace.Mount)
	t.Cleanup(func() {
		if h != nil {
			h.Close()
		}
		inW.Close()
		target.Wait()
	})
	if err != nil {
		t.Fatal(err)
	}
	return []nsVariant{
		{name: "host", opts: func(*namespace.Options) {}, spawn: namespace.Spawn},
		{name: "new user+pid+mnt", opts: newNS, spawn: namespace.Spawn},
		{name: "joined user+pid+mnt", opts: func(*namespace.Options) {}, spawn: h.Spawn},
	}
}

func ttyCases(caller procStat, group int) []ttyCase {
	y := symbols{caller: caller, pid: -2, ttyNr: -2}
	callerTTY := fmt.Sprintf("tty=%s tpgid=%s", y.id(caller.ttyNr, "tty"), y.id(caller.tpgid, "tpgid"))
	// Inside, the caller's terminal and its foreground group, if any: a
	// group of another session, or of none the program's PID namespace
	// shows (0).
	callerCtty, callerFg := "no", "none"
	if caller.ttyNr != 0 {
		callerCtty, callerFg = "yes", "other"
	}
	return []ttyCase{
		{name: "none", opts: namespace.Options{}, attr: &syscall.SysProcAttr{},
			outside: "session=caller pgrp=caller " + callerTTY, inside: "ctty=" + callerCtty + " tty=pts pgid=other sid=other tpgid=" + callerFg},
		{name: "Setsid", opts: namespace.Options{Setsid: true}, attr: &syscall.SysProcAttr{Setsid: true},
			outside: "session=self pgrp=self tty=none tpgid=none", inside: "ctty=no tty=pts pgid=self sid=self tpgid=none"},
		{name: "Setsid+Setctty", opts: namespace.Options{Setsid: true, Setctty: true}, attr: &syscall.SysProcAttr{Setsid: true, Setctty: true},
			outside: "session=self pgrp=self tty=pts tpgid=self", inside: "ctty=yes tty=pts pgid=self sid=self tpgid=self"},
		// os/exec has no equivalent: its Foreground makes a new group
		// first, which the session's leader may not (EPERM).
		{name: "Setsid+Setctty+Foreground", opts: namespace.Options{Setsid: true, Setctty: true, Foreground: true},
			outside: "session=self pgrp=self tty=pts tpgid=self", inside: "ctty=yes tty=pts pgid=self sid=self tpgid=self"},
		// The terminal is the program's descriptor 4 only: standard input
		// is /dev/null, output a pipe.
		{name: "Setsid+Setctty Ctty 4", opts: namespace.Options{Setsid: true, Setctty: true, Ctty: 4}, attr: &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 4}, ctty: 4,
			outside: "session=self pgrp=self tty=pts tpgid=self", inside: "ctty=yes tty=none pgid=self sid=self tpgid=self"},
		{name: "Setpgid", opts: namespace.Options{Setpgid: true}, attr: &syscall.SysProcAttr{Setpgid: true},
			outside: "session=caller pgrp=self " + callerTTY, inside: "ctty=" + callerCtty + " tty=pts pgid=self sid=other tpgid=" + callerFg},
		{name: "Setpgid Pgid", opts: namespace.Options{Setpgid: true, Pgid: group}, attr: &syscall.SysProcAttr{Setpgid: true, Pgid: group}, hostOnly: true,
			outside: "session=caller pgrp=group " + callerTTY, inside: "ctty=" + callerCtty + " tty=pts pgid=other sid=other tpgid=" + callerFg},
	}
}

// startNsgo starts c's program with nsgo, through spawn, with the options
// of v, on the pty's replica.
func startNsgo(c ttyCase, v nsVariant, replica, out *os.File) func(ctl *os.File) (ttyRun, error) {
	return func(ctl *os.File) (ttyRun, error) {
		o := c.opts
		o.Path, o.Args = "/bin/sh", []string{"sh", "-c", ttyScript}
		o.ExtraFiles = []*os.File{ctl}
		if c.ctty == 4 {
			o.Stdout, o.Stderr = out, out
			o.ExtraFiles = append(o.ExtraFiles, replica)
		} else {
			o.Stdin, o.Stdout, o.Stderr = replica, replica, replica
		}
		v.opts(&o)
		p, err := v.spawn(o)
		if err != nil {
			return ttyRun{}, err
		}
		return ttyRun{pid: p.Pid, wait: func() error { return waitOK(p, nil) }}, nil
	}
}

// startExec starts c's program with os/exec and c.attr.
func startExec(c ttyCase, replica, out *os.File) func(ctl *os.File) (ttyRun, error) {
	return func(ctl *os.File) (ttyRun, error) {
		cmd := exec.Command("/bin/sh", "-c", ttyScript)
		cmd.ExtraFiles = []*os.File{ctl}
		if c.ctty == 4 {
			cmd.Stdout, cmd.Stderr = out, out
			cmd.ExtraFiles = append(cmd.ExtraFiles, replica)
		} else {
			cmd.Stdin, cmd.Stdout, cmd.Stderr = replica, replica, replica
		}
		attr := *c.attr
		cmd.SysProcAttr = &attr
		if err := cmd.Start(); err != nil {
			return ttyRun{}, err
		}
		return ttyRun{pid: cmd.Process.Pid, wait: cmd.Wait}, nil
	}
}

// ttyIO returns the pty for one program, and where its output is read: the
// master, or a pipe for a program whose terminal is descriptor 4 only.
func ttyIO(t *testing.T, c ttyCase) (replica, out, outW *os.File, ttyNr int, done func()) {
	master, replica, ttyNr := openPty(t)
	if c.ctty != 4 {
		return replica, master, nil, ttyNr, func() { replica.Close(); master.Close() }
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	return replica, r, w, ttyNr, func() { replica.Close(); master.Close(); r.Close(); w.Close() }
}

// TestTerminal runs every case of the terminal options on every child path,
// in the caller's namespaces, in new ones and in joined ones, and compares
// each with os/exec's program started with the same SysProcAttr.
func TestTerminal(t *testing.T) {
	caller, err := readProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// A group of the caller's session for Pgid: a program that leads one.
	leaderIn, leaderW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	leader, err := namespace.Spawn(namespace.Options{Path: "/bin/sh", Args: []string{"sh", "-c", "read x"}, Stdin: leaderIn, Setpgid: true})
	leaderIn.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { leaderW.Close(); waitOK(leader, nil) }()
	variants := ttyVariants(t)

	for _, c := range ttyCases(caller, leader.Pid) {
		t.Run(c.name, func(t *testing.T) {
			y := symbols{caller: caller, group: leader.Pid}
			var execSeen [3]string
			if c.attr != nil {
				replica, out, outW, ttyNr, done := ttyIO(t, c)
				y.ttyNr = ttyNr
				outside, blk, in, err := observe(t, y, out, startExec(c, replica, outW))
				done()
				if err != nil {
					t.Fatal("os/exec:", err)
				}
				execSeen = [3]string{outside, blk, in}
				if outside != c.outside || in != c.inside {
					t.Errorf("os/exec's program: %q, %q; want %q, %q", outside, in, c.outside, c.inside)
				}
			}
			for _, path := range namespace.ChildPaths {
				if noOwnStack(path) {
					continue
				}
				for _, v := range variants {
					if c.hostOnly && v.name != "host" {
						continue
					}
					before := takeCounts(t)
					old := namespace.SetChildPath(path)
					replica, out, outW, ttyNr, done := ttyIO(t, c)
					y.ttyNr = ttyNr
					outside, blk, in, err := observe(t, y, out, startNsgo(c, v, replica, outW))
					namespace.SetChildPath(old)
					done()
					where := path + ", " + v.name
					if err != nil && strings.Contains(err.Error(), "test: ") {
						t.Logf("%s: %v", where, err)
						continue
					}
					if err != nil {
						t.Errorf("%s: %v", where, err)
						continue
					}
					want := c.inside
					if v.name == "new user+pid+mnt" {
						want += " pid=1"
					}
					if outside != c.outside || blk != "0000000000000000" || in != want {
						t.Errorf("%s: outside %q, SigBlk %s, inside %q; want %q, 0000000000000000, %q", where, outside, blk, in, c.outside, want)
					}
					if c.attr != nil && v.name == "host" && [3]string{outside, blk, in} != execSeen {
						t.Errorf("%s: %q, os/exec's program %q", where, []string{outside, blk, in}, execSeen)
					}
					checkNoLeak(t, before)
				}
			}
		})
	}
}

// TestTerminalForeground runs Foreground without Setsid, which needs the
// terminal to be the caller's controlling terminal: in a helper, a copy of
// this test binary that os/exec made the leader of a session whose
// controlling terminal is a new pty. The helper puts a program of nsgo's in
// the foreground, then one of os/exec's (Foreground, Ctty 0), and reports
// what it saw of each. A child that did not block SIGTTOU for TIOCSPGRP
// would stop there, from the background group of the helper, and the
// helper would never return.
func TestTerminalForeground(t *testing.T) {
	for _, path := range namespace.ChildPaths {
		for _, ns := range []string{"host", "new user+pid+mnt"} {
			t.Run(path+", "+ns, func(t *testing.T) {
				skipOwnStackUnderRaceCover(t, path)
				before := takeCounts(t)
				master, replica, _ := openPty(t)
				res, resW, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer res.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, "/proc/self/exe", "-test.run=^$")
				cmd.Env = append(os.Environ(), "NSGO_TTY_HELPER=foreground", "NSGO_TTY_PATH="+path, "NSGO_TTY_NS="+ns)
				cmd.Stdin, cmd.Stdout, cmd.Stderr = replica, replica, replica
				cmd.ExtraFiles = []*os.File{resW}
				cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				resW.Close()
				replica.Close()
				go io.Copy(io.Discard, master)
				out, _ := io.ReadAll(res)
				werr := cmd.Wait()
				master.Close()
				res.Close()
				lines := strings.Split(strings.TrimSpace(string(out)), "\n")
				if werr != nil || len(lines) != 2 || strings.Contains(string(out), "test: ") {
					if strings.Contains(string(out), "test: ") {
						t.Skip(strings.TrimSpace(string(out)))
					}
					t.Fatalf("helper: %v (%v):\n%s", werr, ctx.Err(), out)
				}
				want := "session=caller pgrp=self tty=pts tpgid=self SigBlk=0000000000000000 back=self inside=ctty=yes tty=pts pgid=self sid=other tpgid=self"
				if ns != "host" {
					want += " pid=1"
				}
				if got, _ := strings.CutPrefix(lines[0], "nsgo: "); got != want {
					t.Errorf("nsgo's program:\n got %s\nwant %s", got, want)
				}
				theirs, _ := strings.CutPrefix(lines[1], "os/exec: ")
				if ns == "host" && theirs != want {
					t.Errorf("os/exec's program:\n got %s\nwant %s", theirs, want)
				}
				checkNoLeak(t, before)
			})
		}
	}
}

func init() {
	if os.Getenv("NSGO_TTY_HELPER") != "foreground" {
		return
	}
	res := os.NewFile(3, "results")
	if err := foregroundHelper(res); err != nil {
		fmt.Fprintln(res, "error:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// foregroundHelper runs in a session of its own whose controlling terminal
// is its standard input; it writes one line for nsgo's program and one for
// os/exec's to res.
func foregroundHelper(res *os.File) error {
	namespace.SetChildPath(os.Getenv("NSGO_TTY_PATH"))
	self, err := readProcStat(os.Getpid())
	if err != nil {
		return err
	}
	for _, who := range []string{"nsgo", "os/exec"} {
		outR, outW, err := os.Pipe()
		if err != nil {
			return err
		}
		ctlR, ctlW, err := os.Pipe()
		if err != nil {
			return err
		}
		var pid int
		var wait func() error
		if who == "nsgo" {
			o := namespace.Options{Path: "/bin/sh", Args: []string{"sh", "-c", ttyScript}, Stdin: os.Stdin, Stdout: outW, Stderr: outW,
				ExtraFiles: []*os.File{ctlR}, Foreground: true}
			if os.Getenv("NSGO_TTY_NS") != "host" {
				uid, gid := ownMaps()
				o.New = namespace.User | namespace.PID | namespace.Mount
				o.UIDMap, o.GIDMap, o.SetGroups, o.MountProc = uid, gid, idmap.Deny, true
			}
			p, err := namespace.Spawn(o)
			if err != nil {
				return err
			}
			pid, wait = p.Pid, func() error { return waitOK(p, nil) }
		} else {
			cmd := exec.Command("/bin/sh", "-c", ttyScript)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, outW, outW
			cmd.ExtraFiles = []*os.File{ctlR}
			cmd.SysProcAttr = &syscall.SysProcAttr{Foreground: true, Ctty: 0}
			if err := cmd.Start(); err != nil {
				return err
			}
			pid, wait = cmd.Process.Pid, cmd.Wait
		}
		outW.Close()
		ctlR.Close()
		sc := bufio.NewScanner(outR)
		var in string
		for sc.Scan() && sc.Text() != "ready" {
			if strings.HasPrefix(sc.Text(), "inside ") {
				in = inside(sc.Text())
			}
		}
		st, err := readProcStat(pid)
		if err != nil {
			return err
		}
		fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
		if err != nil {
			return err
		}
		blk := sigBlk(pid)
		ctlW.Close()
		werr := wait()
		outR.Close()
		// Take the terminal back, as a shell does once its job is done:
		// from the background, with SIGTTOU blocked.
		if err := takeForeground(0); err != nil {
			return err
		}
		if werr != nil {
			return fmt.Errorf("%s: %v", who, werr)
		}
		y := symbols{pid: pid, ttyNr: self.ttyNr, caller: self}
		y.caller.ttyNr = -3 // pts, not caller
		y.caller.tpgid = -3
		fmt.Fprintf(res, "%s: %s SigBlk=%s back=%s inside=%s\n", who, y.outside(st), blk, y.id(fg, "tpgid"), in)
	}
	return nil
}

// takeForeground makes the caller's process group the foreground group of
// terminal fd, with SIGTTOU blocked on this thread meanwhile.
func takeForeground(fd int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var set, old unix.Sigset_t
	set.Val[0] = 1 << (uint(unix.SIGTTOU) - 1)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, &old); err != nil {
		return err
	}
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	return unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, unix.Getpgrp())
}

// TestTerminalBadOptions gives every invalid combination: each is an error
// naming the option, before any clone.
func TestTerminalBadOptions(t *testing.T) {
	_, replica, _ := openPty(t)
	regular, err := os.CreateTemp(t.TempDir(), "file")
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	for _, c := range []struct {
		opts  namespace.Options
		want  string
		errno error
	}{
		{namespace.Options{Setpgid: true, Pgid: -1}, "invalid Pgid -1: negative", nil},
		{namespace.Options{Pgid: 5}, "Pgid 5 needs Setpgid", nil},
		{namespace.Options{Setsid: true, Setpgid: true}, "Setpgid with Setsid:", nil},
		{namespace.Options{Setsid: true, Setctty: true, Foreground: true, Pgid: 3, Stdin: replica}, "Pgid 3 with Setsid:", nil},
		{namespace.Options{Setctty: true, Stdin: replica}, "Setctty needs Setsid", nil},
		{namespace.Options{Setsid: true, Foreground: true, Stdin: replica}, "Foreground with Setsid needs Setctty", nil},
		{namespace.Options{Setsid: true, Ctty: 3, ExtraFiles: []*os.File{replica}}, "Ctty 3 needs Setctty or Foreground", nil},
		{namespace.Options{Setsid: true, Setctty: true, Ctty: 4, ExtraFiles: []*os.File{replica}}, "Setctty: Ctty 4: not one of the program's descriptors (0 to 3", nil},
		{namespace.Options{Setsid: true, Setctty: true, Ctty: -1}, "Setctty: Ctty -1: not one of the program's descriptors (0 to 2", nil},
		{namespace.Options{Setsid: true, Setctty: true, Ctty: 3, ExtraFiles: []*os.File{nil}}, "Setctty: Ctty 3: ExtraFiles[0] is nil", nil},
		{namespace.Options{Setsid: true, Setctty: true}, "Setctty: Ctty 0: the program's descriptor 0 (Stdin is nil: /dev/null) is not a terminal", nil},
		{namespace.Options{Setsid: true, Setctty: true, Stdin: strings.NewReader("x")}, "(Stdin is a *strings.Reader: a pipe) is not a terminal", nil},
		{namespace.Options{Setsid: true, Setctty: true, Ctty: 1, Stdout: regular}, "Setctty: Ctty 1: the program's descriptor 1 (Stdout, " + regular.Name() + ") is not a terminal: ioctl TCGETS: inappropriate ioctl for device", syscall.ENOTTY},
		// The pty is no terminal of the caller's.
		{namespace.Options{Foreground: true, Ctty: 2, Stderr: replica}, "Foreground: Ctty 2: the program's descriptor 2 (Stderr, " + replica.Name() + ") is not the controlling terminal of the caller's session", syscall.ENOTTY},
		{namespace.Options{Setpgid: true, Pgid: 7, New: namespace.User | namespace.PID}, "Pgid 7 with a new PID namespace", nil},
	} {
		before := takeCounts(t)
		o := c.opts
		o.Path = "/bin/true"
		p, err := namespace.Spawn(o)
		if err == nil {
			waitOK(p, nil)
			t.Errorf("%+v: no error", c.opts)
			continue
		}
		if !strings.HasPrefix(err.Error(), "spawn /bin/true: ") || !strings.Contains(err.Error(), c.want) || c.errno != nil && !errors.Is(err, c.errno) {
			t.Errorf("error %q, want %q (matching %v)", err, c.want, c.errno)
		}
		checkNoLeak(t, before)
	}
}

// TestTerminalChildFails makes the child's steps fail, on every path: a
// terminal that is already another session's controlling terminal (which
// only CAP_SYS_ADMIN in the initial user namespace may take, and a new
// user namespace has none there), and a process group that does not exist.
func TestTerminalChildFails(t *testing.T) {
	_, replica, _ := openPty(t)
	holder := exec.Command("/bin/sh", "-c", "read x <&3")
	holder.Stdin = replica
	holder.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	holder.ExtraFiles = []*os.File{ctlR}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	ctlR.Close()
	defer func() { ctlW.Close(); holder.Wait() }()
	// Wait until the holder has the terminal.
	for i := 0; i < 2000; i++ {
		if st, _ := readProcStat(holder.Process.Pid); st.ttyNr != 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	uid, gid := ownMaps()
	for _, path := range namespace.ChildPaths {
		if noOwnStack(path) {
			continue
		}
		before := takeCounts(t)
		old := namespace.SetChildPath(path)
		for _, c := range []struct {
			opts  namespace.Options
			want  string
			errno error
		}{
			{namespace.Options{Setsid: true, Setctty: true, Stdin: replica, New: namespace.User, UIDMap: uid, GIDMap: gid, SetGroups: idmap.Deny},
				"spawn /bin/true: child ioctl TIOCSCTTY on descriptor 0 (Setctty): operation not permitted", os.ErrPermission},
			{namespace.Options{Setpgid: true, Pgid: 1 << 22},
				fmt.Sprintf("spawn /bin/true: child setpgid 0 %d: operation not permitted", 1<<22), os.ErrPermission},
		} {
			o := c.opts
			o.Path = "/bin/true"
			p, err := namespace.Spawn(o)
			if err != nil && strings.Contains(err.Error(), "test: ") {
				continue
			}
			var ce *namespace.ChildError
			if err == nil {
				waitOK(p, nil)
				t.Errorf("%s: %+v: no error", path, c.opts)
			} else if err.Error() != c.want || !errors.Is(err, c.errno) || !errors.As(err, &ce) {
				t.Errorf("%s: error %q, want %q", path, err, c.want)
			}
		}
		namespace.SetChildPath(old)
		checkNoLeak(t, before)
	}
}

// noOwnStack reports whether path is the own-stack child, which Spawn never
// takes under -race -cover (see skipOwnStackUnderRaceCover).
func noOwnStack(path string) bool {
	return path == "own stack" && raceEnabled && testing.CoverMode() != ""
}
