package namespace_test

// Tests of the options that issue 15's bwrap drop-in needed: MountSpec
// Mode, ParentMode, Contents and the Types file, chmod and remount;
// Loopback; Init; SeccompFilters; BlockFD and OnClone;
// DisableUserNamespaces. Each runs on every child path, as root and as uid
// 65534 (TestUnprivileged), and is checked from outside.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// callerUmask returns the process's umask.
func callerUmask() os.FileMode {
	u := unix.Umask(0o22)
	unix.Umask(u)
	return os.FileMode(u)
}

// modeOf returns the permission, set-ID and sticky bits of path.
func modeOf(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
}

// tmpfsRoot returns Mounts that make a tmpfs root with the host's
// programs bound read-only in it, for a shell to run.
func tmpfsRoot() []namespace.MountSpec {
	const ro = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_REC
	ms := []namespace.MountSpec{{Source: "tmpfs", Target: "/", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV}}
	for _, d := range []string{"/usr", "/bin", "/lib", "/lib64"} {
		if _, err := os.Stat(d); err == nil {
			ms = append(ms, namespace.MountSpec{Source: d, Target: d, Type: "bind", Flags: ro})
		}
	}
	return ms
}

// TestMountSpecFilesModes makes directories, files and binds of data with
// their modes, chmods and remounts, as bwrap's --dir, --perms, --file,
// --bind-data, --ro-bind-data, --chmod and --remount-ro do, and looks at
// them from outside: modes and contents through /proc/PID/root, flags in
// /proc/PID/mountinfo.
func TestMountSpecFilesModes(t *testing.T) {
	umask := callerUmask()
	eachMountCase(t, func(t *testing.T, v mountVariant) {
		opts := v.opts
		opts.Mounts = append(tmpfsRoot(),
			namespace.MountSpec{Target: "/d/e", Type: "dir", Mode: 0o700},
			namespace.MountSpec{Target: "/p/q", Type: "dir", Mode: 0o710, ParentMode: 0o750},
			namespace.MountSpec{Target: "/f/g", Type: "file", Contents: []byte("hello\n")},
			namespace.MountSpec{Target: "/f/s", Type: "file", Contents: []byte("x"), Mode: 0o750 | os.ModeSticky},
			namespace.MountSpec{Target: "/f/e", Type: "file", Contents: []byte{}, Mode: 0o604},
			namespace.MountSpec{Target: "/b/c", Type: "bind", Contents: []byte("ro data\n"), Flags: unix.MS_RDONLY, ParentMode: 0o700},
			namespace.MountSpec{Target: "/b/w", Type: "bind", Contents: []byte("rw data\n"), Mode: 0o640},
			namespace.MountSpec{Target: "/d", Type: "chmod", Mode: 0o711},
			namespace.MountSpec{Target: "/f/g", Type: "chmod"},
			namespace.MountSpec{Source: "tmpfs", Target: "/r", Type: "tmpfs"},
			namespace.MountSpec{Source: "tmpfs", Target: "/r/sub", Type: "tmpfs"},
			namespace.MountSpec{Target: "/r", Type: "remount", Flags: unix.MS_RDONLY},
			namespace.MountSpec{Target: "/f/g", Type: "file", Contents: []byte("again\n")},
			// NoPermissions: mode 0000, where 0 is the default.
			namespace.MountSpec{Target: "/z/d", Type: "dir", Mode: namespace.NoPermissions},
			namespace.MountSpec{Target: "/z/f", Type: "file", Contents: []byte("z"), Mode: namespace.NoPermissions},
			namespace.MountSpec{Target: "/z/b", Type: "bind", Contents: []byte("z"), Mode: namespace.NoPermissions},
			namespace.MountSpec{Target: "/y/d", Type: "dir", ParentMode: namespace.NoPermissions},
			namespace.MountSpec{Target: "/z/c", Type: "dir", Mode: 0o700},
			namespace.MountSpec{Target: "/z/c", Type: "chmod", Mode: namespace.NoPermissions},
		)
		s := startWaiting(t, opts, `cat /b/c /b/w; echo x >/b/c && echo wrote ro; echo y >/b/w && cat /b/w; touch /r/x && echo wrote ro; touch /r/sub/x && echo sub rw`)
		root := fmt.Sprintf("/proc/%d/root", s.p.Pid)
		for _, c := range []struct {
			path string
			want os.FileMode
		}{
			{"/d", 0o711}, {"/d/e", 0o700},
			{"/p", 0o750}, {"/p/q", 0o710},
			{"/f", 0o755 &^ umask}, {"/f/g", 0}, {"/f/s", 0o750 | os.ModeSticky}, {"/f/e", 0o604},
			{"/b", 0o700}, {"/b/c", 0o600}, {"/b/w", 0o640},
			{"/z/d", 0}, {"/z/f", 0}, {"/z/b", 0}, {"/z/c", 0}, {"/y", 0},
		} {
			if got := modeOf(t, root+c.path); got != c.want {
				t.Errorf("%s: mode %v, want %v", c.path, got, c.want)
			}
		}
		for path, want := range map[string]string{"/f/g": "again\n", "/f/e": "", "/b/c": "ro data\n"} {
			if b, err := os.ReadFile(root + path); err != nil && !(path == "/f/g" && errors.Is(err, os.ErrPermission)) || err == nil && string(b) != want {
				t.Errorf("%s: %q %v, want %q", path, b, err, want)
			}
		}
		flags := map[string]string{}
		for _, e := range readMountinfo(t, s.p.Pid) {
			flags[e.point] = e.fstype + " " + flagsOf(e)
			if e.point == "/b/c" && e.root != "/bindfile//deleted" {
				t.Errorf("/b/c: root %q in mountinfo, want /bindfile//deleted", e.root)
			}
		}
		for point, want := range map[string]string{"/b/c": "tmpfs ro", "/b/w": "tmpfs ", "/r": "tmpfs ro", "/r/sub": "tmpfs "} {
			if got := flags[point]; got != want {
				t.Errorf("mount %s: %q, want %q", point, got, want)
			}
		}
		out := s.finish(t)
		for _, want := range []string{"ro data\nrw data\n", "/b/c: Read-only file system", "\ny\n", "/r/x': Read-only file system", "sub rw\n"} {
			if !strings.Contains(out, want) || strings.Contains(out, "wrote ro") {
				t.Errorf("inside: %q, want %q in it and no write to a read-only mount", out, want)
			}
		}
	})
}

// TestMountSpecFilesBadInput gives each new field and Type a value that
// cannot work: an error before the clone naming it, or from the child
// naming the step; nothing is left behind (eachMountCase checks).
func TestMountSpecFilesBadInput(t *testing.T) {
	eachMountCase(t, func(t *testing.T, v mountVariant) {
		outside := t.TempDir()
		if err := os.Symlink(outside+"/x", outside+"/link"); err != nil {
			t.Fatal(err)
		}
		root := func(ms ...namespace.MountSpec) []namespace.MountSpec { return append(tmpfsRoot(), ms...) }
		n := len(tmpfsRoot())
		for _, c := range []struct {
			name   string
			mounts []namespace.MountSpec
			want   string
			is     error
		}{
			{"mode bits", root(namespace.MountSpec{Target: "/d", Type: "dir", Mode: os.ModeDir | 0o755}), "Mode 020000000755 (drwxr-xr-x): only permission bits", nil},
			{"parent mode bits", root(namespace.MountSpec{Target: "/d/e", Type: "dir", ParentMode: os.ModeSymlink}), "ParentMode", nil},
			{"mode on a tmpfs", root(namespace.MountSpec{Source: "tmpfs", Target: "/t", Type: "tmpfs", Mode: 0o700}), "Mode is for a dir, a file, a chmod or a bind of Contents, not a tmpfs", nil},
			{"contents on a dir", root(namespace.MountSpec{Target: "/d", Type: "dir", Contents: []byte("x")}), "Contents is for a file, or a bind without Source", nil},
			{"contents with source", root(namespace.MountSpec{Source: "/usr", Target: "/d", Type: "bind", Contents: []byte("x")}), "Contents is for a file, or a bind without Source", nil},
			{"bind without source or contents", root(namespace.MountSpec{Target: "/d", Type: "bind"}), "empty Source (a bind of new data has Contents, not nil)", nil},
			{"data as root", []namespace.MountSpec{{Target: "/", Type: "bind", Contents: []byte("x")}}, "a bind of Contents cannot be the new root", nil},
			{"data recursive", root(namespace.MountSpec{Target: "/d", Type: "bind", Contents: []byte("x"), Flags: unix.MS_REC}), "MS_REC: a bind of Contents is one file", nil},
			{"file with source", root(namespace.MountSpec{Source: "/x", Target: "/f", Type: "file"}), "a file takes no Source, Flags or Data", nil},
			{"file as root", []namespace.MountSpec{{Target: "/", Type: "file"}}, "a file cannot be the new root", nil},
			{"remount first on /", []namespace.MountSpec{{Target: "/", Type: "remount"}}, "a remount cannot be the new root", nil},
			{"remount flags", root(namespace.MountSpec{Target: "/usr", Type: "remount", Flags: unix.MS_NOSUID}), "Flags 0x2: a remount adds MS_RDONLY only", nil},
			{"parent mode on chmod", root(namespace.MountSpec{Target: "/usr", Type: "chmod", ParentMode: 0o700}), "a chmod creates nothing", nil},
			{"chmod missing", root(namespace.MountSpec{Target: "/none", Type: "chmod", Mode: 0o700}),
				fmt.Sprintf("child mount %d (chmod on /none): open /none in the root (openat2 RESOLVE_IN_ROOT): no such file or directory", n), os.ErrNotExist},
			{"remount not a mount point", root(namespace.MountSpec{Target: "/usr/bin", Type: "remount"}),
				fmt.Sprintf("child mount %d (remount on /usr/bin): mount_setattr MOUNT_ATTR_RDONLY: invalid argument", n), syscall.EINVAL},
			{"file over a link", root(namespace.MountSpec{Source: outside + "/x", Target: "/l", Type: "symlink"}, namespace.MountSpec{Target: "/l", Type: "file", Contents: []byte("x")}),
				fmt.Sprintf("child mount %d (file on /l): create /l (mode 0666, O_NOFOLLOW): too many levels of symbolic links", n+1), syscall.ELOOP},
			{"file over a directory", root(namespace.MountSpec{Target: "/usr", Type: "file", Contents: []byte("x")}),
				fmt.Sprintf("child mount %d (file on /usr): create /usr", n), syscall.EISDIR},
			{"chmod read-only", root(namespace.MountSpec{Target: "/usr", Type: "chmod", Mode: 0o700}),
				fmt.Sprintf("child mount %d (chmod on /usr): chmod 0700 (fchmodat2): read-only file system", n), syscall.EROFS},
		} {
			opts := v.opts
			opts.Mounts = c.mounts
			opts.Path = "/bin/true"
			err := spawnError(t, c.name, opts)
			if err == nil {
				continue
			}
			if !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
				t.Errorf("%s: error %q, want one with %q matching %v", c.name, err, c.want, c.is)
			}
			if got := dirNames(t, outside); len(got) != 1 {
				t.Errorf("%s: the caller's %s has %q", c.name, outside, got)
			}
		}
	})
}

// localAddrs returns the local addresses that /proc/PID/net/fib_trie of
// pid's network namespace lists: 127.0.0.1 once lo is up.
func localAddrs(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/fib_trie", pid))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.Contains(l, "/32 host LOCAL") && i > 0 {
			out = append(out, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(lines[i-1]), "|--")))
		}
	}
	return strings.Join(out, " ")
}

// TestLoopback brings up lo in a new network namespace, as bwrap's
// --unshare-net does: from outside, the namespace's fib_trie has
// 127.0.0.1 (none without Loopback), and inside too.
func TestLoopback(t *testing.T) {
	eachMountCase(t, func(t *testing.T, v mountVariant) {
		for _, up := range []bool{false, true} {
			opts := v.opts
			opts.New |= namespace.Net
			opts.Loopback = up
			s := startWaiting(t, opts, `grep -c "host LOCAL" /proc/self/net/fib_trie`)
			got, want := localAddrs(t, s.p.Pid), ""
			if up {
				want = "127.0.0.1 127.0.0.1" // in the local and main tables, as with bwrap
			}
			if got != want {
				t.Errorf("Loopback %v: local addresses %q, want %q", up, got, want)
			}
			if out := s.finishAny(t); out != map[bool]string{false: "0\n", true: "4\n"}[up] {
				t.Errorf("Loopback %v: inside, %q local addresses", up, out)
			}
		}
	})
}

// TestLoopbackBadInput: Loopback without a new network namespace is an
// error before any clone.
func TestLoopbackBadInput(t *testing.T) {
	before := takeCounts(t)
	_, err := namespace.Spawn(namespace.Options{Path: "/bin/true", Loopback: true})
	if err == nil || !strings.Contains(err.Error(), "Loopback needs a new net namespace") {
		t.Errorf("error %v, want one saying Loopback needs a new net namespace", err)
	}
	checkNoLeak(t, before)
}

// finishAny releases the program and returns its output, whatever its
// exit status.
func (s *started) finishAny(t *testing.T) string {
	t.Helper()
	s.in.Write([]byte("go\n"))
	s.in.Close()
	if _, err := s.p.Wait(); err != nil {
		t.Fatal(err)
	}
	return s.out.String()
}

// TestSeccompFilters installs filters after Seccomp, in order, as bwrap's
// --add-seccomp-fd does: for uname, Seccomp says EPERM and the last of
// SeccompFilters EACCES; the kernel takes the most recently installed
// filter's answer among equal actions, so the program gets EACCES, and
// /proc/PID/status counts every filter.
func TestSeccompFilters(t *testing.T) {
	if unix.SYS_UNAME != 63 {
		t.Skip("the filter is x86-64's")
	}
	filters := ownFilters(t)
	uidMap, gidMap := ownMaps()
	eachPath(t, func(t *testing.T) {
		for _, c := range []struct {
			name    string
			seccomp []unix.SockFilter
			more    [][]unix.SockFilter
			errText string
		}{
			{"after Seccomp", errnoFilter(unix.SYS_UNAME, unix.EPERM), [][]unix.SockFilter{errnoFilter(unix.SYS_GETPPID, unix.EPERM), errnoFilter(unix.SYS_UNAME, unix.EACCES)}, "Permission denied"},
			{"alone", nil, [][]unix.SockFilter{errnoFilter(unix.SYS_UNAME, unix.EACCES), errnoFilter(unix.SYS_UNAME, unix.EPERM)}, "Operation not permitted"},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := takeCounts(t)
				opts := namespace.Options{New: namespace.User, UIDMap: uidMap, GIDMap: gidMap, SetGroups: idmap.Deny, NoNewPrivs: true,
					Seccomp: c.seccomp, SeccompFilters: c.more}
				pp := startWaiting(t, opts, "uname; echo status $?")
				st := procStatus(t, pp.p.Pid)
				out := pp.finish(t)
				n := len(c.more)
				if c.seccomp != nil {
					n++
				}
				if st["Seccomp"] != "2" || st["Seccomp_filters"] != fmt.Sprint(filters+n) {
					t.Errorf("Seccomp %q, Seccomp_filters %q; want 2 and %d", st["Seccomp"], st["Seccomp_filters"], filters+n)
				}
				if !strings.Contains(out, c.errText) || !strings.Contains(out, "status 1") {
					t.Errorf("uname under the filters: %q, want %q", out, c.errText)
				}
				checkNoLeak(t, before)
			})
		}
	})
}

// TestSeccompFiltersBadInput: an empty or invalid filter, or filters
// without NoNewPrivs or CAP_SYS_ADMIN, are errors before any clone that
// name the filter.
func TestSeccompFiltersBadInput(t *testing.T) {
	ok := errnoFilter(unix.SYS_UNAME, unix.EPERM)
	for _, c := range []struct {
		name string
		opts namespace.Options
		want string
	}{
		{"empty", namespace.Options{NoNewPrivs: true, SeccompFilters: [][]unix.SockFilter{ok, {}}}, "SeccompFilters[1] is empty"},
		{"bad jump", namespace.Options{NoNewPrivs: true, SeccompFilters: [][]unix.SockFilter{ok, {{Code: unix.BPF_JMP | unix.BPF_JA, K: 9}, {Code: unix.BPF_RET}}}},
			"invalid SeccompFilters[1]: instruction 0 jumps to 10"},
		{"no privilege", namespace.Options{Credential: &namespace.Credential{UID: 65534, GID: 65534, NoSetGroups: true}, SeccompFilters: [][]unix.SockFilter{ok}},
			"a Seccomp filter needs NoNewPrivs"},
	} {
		if nnp := statusFields(string(must(os.ReadFile("/proc/self/status"))))["NoNewPrivs"]; c.name == "no privilege" && nnp == "1" {
			continue // the clone3 seccomp launcher set no_new_privs: the kernel takes any filter
		}
		before := takeCounts(t)
		c.opts.Path = "/bin/true"
		p, err := namespace.Spawn(c.opts)
		if err == nil {
			p.Wait()
			t.Errorf("%s: no error", c.name)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want %q", c.name, err, c.want)
		}
		checkNoLeak(t, before)
	}
}

// pidNS returns the PID namespace of pid, as its link says.
func pidNS(pid int) string {
	l, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	return l
}

// pinPIDNS opens process pid's PID namespace, which the file then keeps
// alive, so that its link text (returned) cannot name a later namespace
// that reuses the inode number after this one ends: what inPIDNS then finds
// is in this one. The caller closes the file.
func pinPIDNS(t *testing.T, pid int) (string, *os.File) {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/pid", pid))
	if err != nil {
		t.Fatal(err)
	}
	return pidNS(pid), f
}

// inPIDNS lists the processes of the PID namespace ns.
func inPIDNS(ns string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err == nil && pidNS(pid) == ns {
			out = append(out, pid)
		}
	}
	return out
}

// TestInit keeps the child as PID 1, a reaper, as bwrap does without
// --as-pid-1. From outside: Process.Pid is the init, which holds no
// descriptor and no capability and has one child, the program, PID 2
// inside; an orphan that the program leaves is reaped (without Init the
// program, PID 1, leaves it a zombie); Wait gives the program's exit
// status, or 128 plus its signal; once the program exits, nothing is left
// in the namespace, not even its background processes.
func TestInit(t *testing.T) {
	eachMountCase(t, func(t *testing.T, v mountVariant) {
		for _, init := range []bool{false, true} {
			opts := v.opts
			opts.Init = init
			s := startWaiting(t, opts, `sh -c 'sleep 0.1 & exit 0'; exec sleep 0.6`)
			ns := pidNS(s.p.Pid)
			if init {
				fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.p.Pid))
				if err != nil || len(fds) != 0 {
					t.Errorf("the init holds descriptors %v (%v)", fds, err)
				}
				kids, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", s.p.Pid, s.p.Pid))
				var kid int
				if _, serr := fmt.Sscan(string(kids), &kid); err != nil || serr != nil || strings.Count(string(kids), " ") != 1 {
					t.Errorf("the init's children: %q (%v)", kids, err)
				} else if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", kid)); !strings.HasSuffix(exe, "sh") {
					t.Errorf("the init's child runs %q, want the shell", exe)
				}
				if st := procStatus(t, s.p.Pid); st["CapEff"] != "0000000000000000" || st["CapPrm"] != "0000000000000000" {
					t.Errorf("the init keeps capabilities: CapEff %s CapPrm %s", st["CapEff"], st["CapPrm"])
				}
			}
			s.in.Write([]byte("go\n"))
			s.in.Close()
			time.Sleep(400 * time.Millisecond)
			zombies := 0
			for _, pid := range inPIDNS(ns) {
				if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && strings.Contains(string(b), ") Z ") {
					zombies++
				}
			}
			if want := map[bool]int{false: 1, true: 0}[init]; zombies != want {
				t.Errorf("Init %v: %d zombies in the namespace, want %d", init, zombies, want)
			}
			if st, err := s.p.Wait(); err != nil || !st.Success() {
				t.Errorf("Init %v: %v %v\n%s", init, st, err, s.out.String())
			}
		}
		for _, c := range []struct {
			script string
			status int
			out    string
		}{
			{"echo $$; sleep 100 & exit 3", 3, "2\n"},
			{"kill -TERM $$", 128 + int(syscall.SIGTERM), ""}, // as bwrap reports
		} {
			opts := v.opts
			opts.Init = true
			var out strings.Builder
			opts.Path, opts.Args, opts.Stdout = "/bin/sh", []string{"sh", "-c", c.script}, &out
			p, err := namespace.Spawn(opts)
			if err != nil {
				if strings.Contains(err.Error(), ": test: ") {
					return
				}
				t.Fatal(err)
			}
			ns, pin := pinPIDNS(t, p.Pid)
			if st, err := p.Wait(); err != nil || st.ExitCode() != c.status || out.String() != c.out {
				t.Errorf("%q: %v %v, output %q; want exit status %d, output %q", c.script, st, err, out.String(), c.status, c.out)
			}
			if left := inPIDNS(ns); len(left) != 0 {
				t.Errorf("%q: processes left in the namespace: %v", c.script, left)
			}
			pin.Close()
		}
	})
}

// TestInitBadInput: Init without a new PID namespace, or with a terminal
// for the program, is an error before any clone; a program that cannot
// start is the child's error, with nothing left.
func TestInitBadInput(t *testing.T) {
	_, tty, _ := openPty(t)
	eachMountCase(t, func(t *testing.T, v mountVariant) {
		for _, c := range []struct {
			name   string
			change func(o *namespace.Options)
			want   string
			is     error
		}{
			{"no PID namespace", func(o *namespace.Options) { o.New &^= namespace.PID }, "Init needs a new pid namespace", nil},
			{"setctty", func(o *namespace.Options) { o.Setsid, o.Setctty, o.Stdin = true, true, tty }, "Init with Setctty or Foreground", nil},
			{"missing program", func(o *namespace.Options) { o.Path = "/nonexistent" }, "child execve: no such file or directory", os.ErrNotExist},
		} {
			opts := v.opts
			opts.Init, opts.Path = true, "/bin/true"
			c.change(&opts)
			err := spawnError(t, c.name, opts)
			if err == nil {
				continue
			}
			if !strings.Contains(err.Error(), c.want) || c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("%s: error %q, want %q", c.name, err, c.want)
			}
		}
	})
}

// TestBlockFD: the program does not run until BlockFD has data (Spawn,
// which returns once it runs, returns after the write). The program does
// not get the descriptor.
func TestBlockFD(t *testing.T) {
	eachMountCase(t, func(t *testing.T, v mountVariant) {
		for _, init := range []bool{false, true} {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			opts := v.opts
			opts.Init, opts.BlockFD = init, r
			var out strings.Builder
			opts.Path, opts.Args, opts.Stdout = "/bin/sh", []string{"sh", "-c", "ls /proc/self/fd"}, &out
			wrote := make(chan time.Time, 1)
			go func() {
				time.Sleep(200 * time.Millisecond)
				wrote <- time.Now()
				w.Write([]byte{1})
			}()
			p, err := namespace.Spawn(opts)
			started := time.Now()
			when := <-wrote
			w.Close()
			r.Close()
			if err != nil {
				if strings.Contains(err.Error(), ": test: ") {
					continue
				}
				t.Fatal(err)
			}
			if st, err := p.Wait(); err != nil || !st.Success() {
				t.Errorf("Init %v: %v %v", init, st, err)
			}
			if started.Before(when) {
				t.Errorf("Init %v: the program ran %v before BlockFD had data", init, when.Sub(started))
			}
			if got := strings.Fields(out.String()); len(got) != 4 {
				t.Errorf("Init %v: the program has descriptors %q, want 0 1 2 and ls's", init, got)
			}
		}
	})
}

// TestOnClone: the hook gets the child's PID before any step, while the
// child waits; without maps from Spawn, the hook writes them itself, as
// whoever holds bwrap's --userns-block-fd does, and the program then runs
// as root of its namespace. A hook's error stops the spawn, with nothing
// left.
func TestOnClone(t *testing.T) {
	self, _ := os.Readlink("/proc/self/exe")
	uidMap, gidMap := ownMaps()
	eachPath(t, func(t *testing.T) {
		for _, init := range []bool{false, true} {
			before := takeCounts(t)
			var seen, exe string
			opts := namespace.Options{New: namespace.User | namespace.PID, Init: init, OnClone: func(pid int) error {
				seen = pidNS(pid)
				exe, _ = os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
				return idmap.Write(pid, uidMap, gidMap, idmap.Deny)
			}}
			var out strings.Builder
			opts.Path, opts.Args, opts.Stdout = "/bin/sh", []string{"sh", "-c", "id -u; echo $$"}, &out
			p, err := namespace.Spawn(opts)
			if err != nil {
				if strings.Contains(err.Error(), ": test: ") {
					t.Skip(err)
				}
				t.Fatal(err)
			}
			ns := pidNS(p.Pid)
			if st, err := p.Wait(); err != nil || !st.Success() {
				t.Fatalf("%v %v", st, err)
			}
			want := map[bool]string{false: "0\n1\n", true: "0\n2\n"}[init]
			if out.String() != want || seen != ns || exe != self {
				t.Errorf("Init %v: output %q (want %q), the hook saw namespace %q (the program's %q) running %q", init, out.String(), want, seen, ns, exe)
			}
			checkNoLeak(t, before)
			// An error stops it.
			opts.OnClone = func(pid int) error { return os.ErrDeadlineExceeded }
			if p, err := namespace.Spawn(opts); err == nil {
				p.Wait()
				t.Error("a failing hook: no error")
			} else if !strings.Contains(err.Error(), "OnClone: i/o timeout") || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("a failing hook: %v", err)
			}
			checkNoLeak(t, before)
		}
	})
}

// userNSInode returns the inode number of the user namespace of fd, a
// namespace file.
func nsInode(t *testing.T, fd int) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// TestDisableUserNamespaces: the program cannot create a user namespace
// (unshare -U fails, ENOSPC), and reads what bwrap --disable-userns shows:
// user.max_user_namespaces 2147483647 (its own namespace's; the limit of 1
// is its parent's), its own IDs mapped to themselves. From outside: the
// program's user namespace is a child of a child of the caller's.
func TestDisableUserNamespaces(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		for _, c := range []struct {
			init bool
			own  bool
		}{{false, true}, {false, false}, {true, false}} {
			init := c.init
			uid, gid := rootMaps()
			setGroups := idmap.Auto
			if c.own {
				uid, gid = ownMaps()
				setGroups = idmap.Deny // so that a vfork child writes them itself
			}
			before := takeCounts(t)
			opts := namespace.Options{New: namespace.User | namespace.PID | namespace.Mount, UIDMap: uid, GIDMap: gid, SetGroups: setGroups, Init: init,
				DisableUserNamespaces: true, Capabilities: namespace.DropCaps(unix.CAP_SYS_PTRACE)}
			s := startWaiting(t, opts, `cat /proc/sys/user/max_user_namespaces; unshare -U true 2>/dev/null; echo $?; id -u; cat /proc/self/uid_map /proc/self/setgroups; grep CapBnd /proc/self/status`)
			pid := s.p.Pid
			if init {
				kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
				fmt.Sscan(string(kids), &pid)
			}
			f, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", pid))
			if err != nil {
				t.Fatal(err)
			}
			parent, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_PARENT)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			grand, err := unix.IoctlRetInt(parent, unix.NS_GET_PARENT)
			own, _ := os.Open("/proc/self/ns/user")
			if err != nil || nsInode(t, grand) != nsInode(t, int(own.Fd())) {
				t.Errorf("Init %v: the program's user namespace is not a grandchild of the caller's (%v)", init, err)
			}
			own.Close()
			unix.Close(parent)
			if err == nil {
				unix.Close(grand)
			}
			out := s.finish(t)
			want := fmt.Sprintf("2147483647\n1\n0\n%10d %10d %10d\ndeny\nCapBnd:\t%016x\n", 0, 0, 1, uint64(namespace.AllCaps().Drop(unix.CAP_SYS_PTRACE)))
			if out != want {
				t.Errorf("Init %v: inside:\n%q\nwant\n%q", init, out, want)
			}
			checkNoLeak(t, before)
		}
	})
}

// TestDisableUserNamespacesBadInput: without a new user namespace and its
// maps it is an error before any clone.
func TestDisableUserNamespacesBadInput(t *testing.T) {
	uid, gid := ownMaps()
	for _, c := range []struct {
		opts namespace.Options
		want string
	}{
		{namespace.Options{New: namespace.PID}, "DisableUserNamespaces needs a new user namespace"},
		{namespace.Options{New: namespace.User, UIDMap: uid}, "DisableUserNamespaces needs UIDMap and GIDMap"},
		{namespace.Options{New: namespace.User, GIDMap: gid}, "DisableUserNamespaces needs UIDMap and GIDMap"},
	} {
		c.opts.Path, c.opts.DisableUserNamespaces = "/bin/true", true
		wantSpawnError(t, c.opts, c.want)
	}
}

// TestMountSpecRacingMounts spawns with Mounts while another process
// mounts and unmounts without pause, in a mount namespace of its own:
// openat2 with RESOLVE_IN_ROOT fails with EAGAIN whenever any mount in the
// system races with a lookup of "..", and the child must try again, not
// fail.
func TestMountSpecRacingMounts(t *testing.T) {
	churn := exec.Command("unshare", "-Urm", "sh", "-c", "while :; do mount -t tmpfs x /tmp; umount /tmp; done")
	if err := churn.Start(); err != nil {
		t.Skip(err)
	}
	defer func() { churn.Process.Kill(); churn.Wait() }()
	time.Sleep(50 * time.Millisecond)
	eachMountCase(t, func(t *testing.T, v mountVariant) {
		opts := v.opts
		// The kernel checks for the race where a lookup goes up: through a
		// link with "..", as TestMountSpecRoot's.
		opts.Mounts = append(tmpfsRoot(), namespace.MountSpec{Target: "/a/b", Type: "dir"},
			namespace.MountSpec{Source: "../../../../a/../a/../a", Target: "/l/up", Type: "symlink"})
		for i := range 20 {
			opts.Mounts = append(opts.Mounts, namespace.MountSpec{Target: fmt.Sprintf("/l/up/b/%d", i), Type: "dir"})
		}
		opts.Path = "/bin/true"
		for range 100 {
			if err := waitOK(namespace.Spawn(opts)); err != nil {
				if strings.Contains(err.Error(), ": test: ") {
					t.Skip(err)
				}
				t.Fatal(err)
			}
		}
	})
}

// TestInitHandleSpawn: with Handle.Spawn, the process forked into the new
// PID namespace is the init, and forks the program in turn: Process.Pid
// is the init's, which is in the handle's mount namespace, and the
// program is PID 2 there.
func TestInitHandleSpawn(t *testing.T) {
	tpid := startUnshare(t, "--user", "--map-root-user", "--mount")
	eachPath(t, func(t *testing.T) {
		h, err := namespace.Join(tpid, namespace.User|namespace.Mount)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		before := takeCounts(t)
		var out strings.Builder
		p, err := h.Spawn(namespace.Options{Path: "/bin/sh", Args: []string{"sh", "-c", "echo $$; sleep 0.3; exit 5"}, New: namespace.PID, Init: true, Stdout: &out})
		if err != nil {
			if strings.Contains(err.Error(), ": test: ") {
				t.Skip(err)
			}
			t.Fatal(err)
		}
		mnt, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", p.Pid))
		want, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", tpid))
		if st, err := p.Wait(); err != nil || st.ExitCode() != 5 || out.String() != "2\n" || mnt != want {
			t.Errorf("%v %v, output %q, the init in %s (want %s); want exit status 5 and 2", st, err, out.String(), mnt, want)
		}
		checkNoLeak(t, before)
	})
}

// TestMountSpecRemountRoot remounts the new root read-only, as bwrap's
// --remount-ro / after its binds: from outside, / is ro and the binds
// under it keep their own flags; inside, / cannot be written.
func TestMountSpecRemountRoot(t *testing.T) {
	eachMountCase(t, func(t *testing.T, v mountVariant) {
		opts := v.opts
		opts.Mounts = append(tmpfsRoot(), namespace.MountSpec{Source: "tmpfs", Target: "/tmp", Type: "tmpfs"},
			namespace.MountSpec{Target: "/", Type: "remount", Flags: unix.MS_RDONLY})
		s := startWaiting(t, opts, `touch /x 2>/tmp/err || echo root ro; touch /tmp/x && echo tmp rw`)
		flags := map[string]string{}
		for _, e := range readMountinfo(t, s.p.Pid) {
			flags[e.point] = flagsOf(e)
		}
		if flags["/"] != "ro,nosuid,nodev" || flags["/tmp"] != "" {
			t.Errorf("flags of / %q and /tmp %q, want ro,nosuid,nodev and none", flags["/"], flags["/tmp"])
		}
		if out := s.finish(t); out != "root ro\ntmp rw\n" {
			t.Errorf("inside: %q", out)
		}
	})
}

// TestBlockFDOneP: the data for BlockFD comes from a goroutine of the
// caller, with one P (GOMAXPROCS=1, as a cgroup CPU limit of 1 gives since
// Go 1.25). A vfork child that waited for it would hold the caller's thread,
// and its P, in clone(2) until the data came, which that goroutine could
// then never send: the spawn hung for ever (it did, in CI's uid 65534 run).
// A helper process does it, in a process group of its own, killed whole if
// stuck.
func TestBlockFDOneP(t *testing.T) {
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = withEnv("NSGO_NAMESPACE_HELPER=blockfd-one-p", "GOMAXPROCS=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(30*time.Second, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	err := cmd.Wait()
	if !timer.Stop() {
		t.Fatalf("the helper was stuck for 30s and killed with its process group: %v\n%s", err, out.String())
	}
	if err != nil || !strings.Contains(out.String(), "blockfd-one-p: ok") {
		t.Fatalf("helper: %v\n%s", err, out.String())
	}
}

// blockFDOnePHelper spawns programs whose BlockFD a goroutine writes, under
// GOMAXPROCS=1, on every child path that Spawn takes by itself.
func blockFDOnePHelper() error {
	if runtime.GOMAXPROCS(0) != 1 {
		return fmt.Errorf("GOMAXPROCS is %d", runtime.GOMAXPROCS(0))
	}
	uidMap, gidMap := ownMaps()
	for _, opts := range []namespace.Options{
		{Path: "/bin/true"},
		{Path: "/bin/true", New: namespace.User | namespace.Mount, UIDMap: uidMap, GIDMap: gidMap},
		{Path: "/bin/true", New: namespace.User | namespace.PID, UIDMap: uidMap, GIDMap: gidMap, Init: true},
	} {
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		go func() {
			time.Sleep(100 * time.Millisecond)
			w.Write([]byte{1})
		}()
		opts.BlockFD = r
		p, err := namespace.Spawn(opts)
		r.Close()
		if err != nil {
			w.Close()
			return err
		}
		st, err := p.Wait()
		w.Close()
		if err != nil || !st.Success() {
			return fmt.Errorf("%s: %v %v", opts.New, st, err)
		}
	}
	return nil
}

// fillFdHoles opens /dev/null on every free descriptor number below the
// highest the test process has open, up to 1024, so that the next numbers
// the caller and the child take come one after another, as in a fresh
// process (go test's own process may have holes, and a shell may leave
// descriptors such as 10 or 255 open, which hid a collision); the returned
// function closes them again.
func fillFdHoles(t *testing.T) func() {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	top := 0
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil && n < 1024 && n > top {
			top = n
		}
	}
	var filled []int
	for {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if fd > top {
			unix.Close(fd)
			break
		}
		filled = append(filled, fd)
	}
	return func() {
		for _, fd := range filled {
			unix.Close(fd)
		}
	}
}

// TestDisableUserNamespacesNoHoles spawns with DisableUserNamespaces, the
// caller's own standard input and error (descriptors the child must move,
// as they sit on target numbers) and one extra file, from a process whose
// descriptor table has no hole: the /proc directory the child opens for the second
// user namespace then takes the number right above the pipes, where the
// child once moved the program's descriptors (dup3), which closed it
// ("write deny to /proc/self/setgroups: not a directory"; examples/sandbox
// failed so in CI).
func TestDisableUserNamespacesNoHoles(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		for _, init := range []bool{false, true} {
			uid, gid := ownMaps()
			setGroups := idmap.Deny // so that a vfork child writes them itself
			if init {
				uid, gid = rootMaps()
				setGroups = idmap.Auto
			}
			before := takeCounts(t)
			extra, err := os.Open("/dev/null")
			if err != nil {
				t.Fatal(err)
			}
			closeHoles := fillFdHoles(t)
			var out strings.Builder
			p, err := namespace.Spawn(namespace.Options{New: namespace.User | namespace.Mount | namespace.PID, UIDMap: uid, GIDMap: gid,
				SetGroups: setGroups, Init: init, DisableUserNamespaces: true, Path: "/bin/sh",
				Args:  []string{"sh", "-c", `unshare -U true 2>/dev/null; echo $? $(readlink /proc/self/fd/3)`},
				Stdin: os.Stdin, Stdout: &out, Stderr: os.Stderr, ExtraFiles: []*os.File{extra}})
			closeHoles()
			extra.Close()
			if err != nil && strings.Contains(err.Error(), ": test: ") {
				t.Logf("Init %v: %v", init, err) // the path takes no DisableUserNamespaces
				continue
			}
			if err != nil {
				t.Fatalf("Init %v: %v", init, err)
			}
			if st, err := p.Wait(); err != nil || !st.Success() {
				t.Errorf("Init %v: %v %v", init, st, err)
			}
			if got := strings.TrimSpace(out.String()); got != "1 /dev/null" {
				t.Errorf("Init %v: the program printed %q, want %q (unshare -U refused, fd 3 the extra file)", init, got, "1 /dev/null")
			}
			checkNoLeak(t, before)
		}
	})
}

// TestRequireUserNamespacesDisabled: in a new user namespace, where
// unshare(CLONE_NEWUSER) works, the spawn fails and leaves nothing; entered
// into the user namespace of a program started with DisableUserNamespaces
// (Handle.Spawn), it starts, and its unshare -U fails (bwrap's
// --assert-userns-disabled with --userns).
func TestRequireUserNamespacesDisabled(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		uid, gid := ownMaps()
		before := takeCounts(t)
		p, err := namespace.Spawn(namespace.Options{New: namespace.User, UIDMap: uid, GIDMap: gid, SetGroups: idmap.Deny,
			RequireUserNamespacesDisabled: true, Path: "/bin/true"})
		if err == nil {
			p.Wait()
			t.Fatal("a new user namespace, where user namespaces work: no error")
		}
		if want := "RequireUserNamespacesDisabled: a user namespace could be created"; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q, want %q in it", err, want)
		}
		checkNoLeak(t, before)

		disabled, err := namespace.Spawn(namespace.Options{New: namespace.User, UIDMap: uid, GIDMap: gid, SetGroups: idmap.Deny,
			DisableUserNamespaces: true, Path: "/bin/sleep", Args: []string{"sleep", "60"}})
		if err != nil {
			if strings.Contains(err.Error(), ": test: ") {
				t.Skip(err)
			}
			t.Fatal(err)
		}
		defer func() { disabled.Kill(); disabled.Wait() }()
		h, err := namespace.Join(disabled.Pid, namespace.User)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		var out strings.Builder
		p, err = h.Spawn(namespace.Options{RequireUserNamespacesDisabled: true, Path: "/bin/sh",
			Args: []string{"sh", "-c", "unshare -U true 2>/dev/null; echo $?"}, Stdout: &out})
		if err != nil {
			if strings.Contains(err.Error(), ": test: ") {
				t.Skip(err)
			}
			t.Fatal(err)
		}
		if st, err := p.Wait(); err != nil || !st.Success() || strings.TrimSpace(out.String()) != "1" {
			t.Errorf("in the disabled user namespace: %v %v, printed %q, want 1", st, err, out.String())
		}
	})
}
