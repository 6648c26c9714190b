package namespace_test

// Attacks on the sandbox options: combinations that the family tests do not
// make, each on every child path.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// holdFds opens n descriptors for the rest of the test, as a busy caller
// has: the child's own descriptors then have high numbers.
func holdFds(t *testing.T, n int) {
	t.Helper()
	for range n {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
	}
}

// eachAttackPath runs fn on every child path, with spawn a function that
// starts a program (Spawn, with New as it is; or, for "handle", Handle.Spawn
// into a joined container's user, mount and PID namespaces, forking once
// more), and checks for leaks.
func eachAttackPath(t *testing.T, fn func(t *testing.T, spawn func(namespace.Options) (*namespace.Process, error), handle bool)) {
	t.Helper()
	for _, path := range namespace.ChildPaths {
		for _, handle := range []bool{false, true} {
			name := path
			if handle {
				name += "/handle"
			}
			t.Run(name, func(t *testing.T) {
				skipOwnStackUnderRaceCover(t, path)
				defer namespace.SetChildPath(namespace.SetChildPath(path))
				hostBefore := hostMountinfo(t)
				before := takeCounts(t)
				spawn := namespace.Spawn
				if handle {
					uid, gid := ownMaps()
					c := startWaiting(t, namespace.Options{New: namespace.User | namespace.Mount | namespace.PID,
						UIDMap: uid, GIDMap: gid, SetGroups: idmap.Deny}, "")
					h, err := namespace.Join(c.p.Pid, namespace.User|namespace.Mount|namespace.PID)
					if err != nil {
						t.Fatal(err)
					}
					defer c.finish(t)
					defer h.Close()
					spawn = h.Spawn
				}
				fn(t, spawn, handle)
				if handle {
					return // the container's end is checked by finish
				}
				checkNoLeak(t, before)
				if after := hostMountinfo(t); after != hostBefore {
					t.Errorf("the caller's mounts changed:\nbefore:\n%s\nafter:\n%s", hostBefore, after)
				}
			})
		}
	}
}

// TestAttackRlimitNofileBelowCallerFds sets an RLIMIT_NOFILE that leaves
// the program room for its three descriptors, and more, but lies below the
// caller's descriptor numbers, and passes the caller's standard input as
// it is (descriptor 0, which sits on a target number): the child must
// still put the descriptors in place.
func TestAttackRlimitNofileBelowCallerFds(t *testing.T) {
	holdFds(t, 64)
	eachAttackPath(t, func(t *testing.T, spawn func(namespace.Options) (*namespace.Process, error), handle bool) {
		out, err := os.CreateTemp(t.TempDir(), "out")
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		opts := namespace.Options{Path: "/bin/sh", Args: []string{"sh", "-c", "ulimit -n; echo ok"},
			Stdin: os.Stdin, Stdout: out, Stderr: out,
			Rlimits: []namespace.Rlimit{{Resource: unix.RLIMIT_NOFILE, Soft: 32, Hard: 32}}}
		if !handle {
			opts.New = namespace.User | namespace.Mount
			opts.UIDMap, opts.GIDMap = ownMaps()
			opts.SetGroups = idmap.Deny
		}
		p, err := spawn(opts)
		if err != nil {
			t.Fatal(err)
		}
		st, err := p.Wait()
		b, _ := os.ReadFile(out.Name())
		if err != nil || !st.Success() || string(b) != "32\nok\n" {
			t.Fatalf("%v %v %q", st, err, b)
		}
	})
}

// unchangedRootHelper runs in a mount namespace whose every mount is
// shared: it spawns with a new root and PropagationUnchanged, in both ways
// (Root; a tmpfs on /) and on every child path, and fails if its own mount
// table changed.
func unchangedRootHelper() error {
	own := func() (string, error) {
		b, err := os.ReadFile("/proc/self/mountinfo")
		return string(b), err
	}
	root, err := os.MkdirTemp("", "nsgo-unchanged")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	var errs []error
	for _, path := range namespace.ChildPaths {
		if path == "own stack" && raceEnabled && testing.CoverMode() != "" {
			continue // Spawn takes no own-stack child under -race -cover
		}
		for _, c := range []struct {
			how  string
			prop namespace.Propagation
		}{{"Root", namespace.PropagationUnchanged}, {"tmpfs on /", namespace.PropagationUnchanged},
			{"Root", namespace.PropagationSlave}, {"tmpfs on /", namespace.PropagationSlave},
			{"Root", namespace.PropagationPrivate}, {"tmpfs on /", namespace.PropagationPrivate},
			// A new proc on /proc, with no new root: the copy of a shared
			// /proc must not take it to the caller's (as unshare(1)'s
			// --mount-proc makes /proc private first).
			{"MountProc", namespace.PropagationShared}, {"MountProc", namespace.PropagationUnchanged},
			{"MountProc", namespace.PropagationSlave}, {"MountProc", namespace.PropagationPrivate}} {
			how := c.how
			namespace.SetChildPath(path)
			before, err := own()
			if err != nil {
				return err
			}
			opts := namespace.Options{Path: "/bin/true", New: namespace.Mount, Propagation: c.prop}
			switch how {
			case "Root":
				opts.Root = root
			case "tmpfs on /":
				opts.Mounts = []namespace.MountSpec{{Source: "tmpfs", Target: "/", Type: "tmpfs"}}
			case "MountProc":
				opts.New |= namespace.PID
				opts.MountProc = true
			}
			p, err := namespace.Spawn(opts)
			if err == nil {
				p.Wait()
			}
			after, err2 := own()
			if err2 != nil {
				return err2
			}
			if after != before {
				errs = append(errs, fmt.Errorf("%s, %s, %s (spawn: %v): the caller's mounts changed:\nbefore:\n%s\nafter:\n%s", path, how, c.prop, err, before, after))
			}
		}
	}
	return errors.Join(errs...)
}

// TestAttackUnchangedPropagationNewRoot: with PropagationUnchanged, a new
// root made in a mount namespace whose mounts are shared with the caller's
// (as systemd makes the host's) must not appear in the caller's namespace,
// whether or not pivot_root then refuses the shared mount.
func TestAttackUnchangedPropagationNewRoot(t *testing.T) {
	if !privileged {
		t.Skip("the helper's shared mount namespace is root's")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip(err)
	}
	cmd := exec.Command("unshare", "-m", "--propagation", "shared", os.Args[0], "-test.run=^TestAttackUnchangedHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "NSGO_ATTACK_HELPER=unchanged-root")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestAttackUnchangedHelper") {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestAttackUnchangedHelper is unchangedRootHelper, when the test binary
// runs as TestAttackUnchangedPropagationNewRoot's helper.
func TestAttackUnchangedHelper(t *testing.T) {
	if os.Getenv("NSGO_ATTACK_HELPER") != "unchanged-root" {
		t.Skip("TestAttackUnchangedPropagationNewRoot's helper")
	}
	if err := unchangedRootHelper(); err != nil {
		t.Fatal(err)
	}
}

// TestAttackEverything sets every sandbox option at once, on every child
// path, with and without Handle.Spawn: a new root with binds, a dir made
// for Dir, /proc, host name, a session with the pty of ExtraFiles[0] as
// its controlling terminal, a pipe in ExtraFiles[1], limits, a capability
// kept, no_new_privs and a filter, the parent-death signal, a cgroup (root
// only) and a time namespace (the copy). It looks at the running program
// from outside (status, limits, stat, cgroup, cwd, root) and inside.
func TestAttackEverything(t *testing.T) {
	if unix.SYS_UNAME != 63 {
		t.Skip("the filter is x86-64's")
	}
	holdFds(t, 40)
	eachAttackPath(t, func(t *testing.T, spawn func(namespace.Options) (*namespace.Process, error), handle bool) {
		path := namespace.SetChildPath("")
		namespace.SetChildPath(path)
		root := t.TempDir()
		master, replica, ttyNr := openPty(t)
		defer master.Close()
		defer replica.Close()
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		defer pw.Close()
		opts := namespace.Options{
			Root: root,
			Mounts: append(append(readBinds(), namespace.DevMounts("/dev")...),
				namespace.MountSpec{Target: "/work/deep", Type: "dir"}, namespace.MountSpec{Source: "tmpfs", Target: "/tmp", Type: "tmpfs"}),
			Dir:    "work/deep", // relative: to the new root
			Setsid: true, Setctty: true, Ctty: 3,
			ExtraFiles:        []*os.File{replica, pw},
			Rlimits:           []namespace.Rlimit{{Resource: unix.RLIMIT_NOFILE, Soft: 20, Hard: 24}, {Resource: unix.RLIMIT_CORE, Soft: 0, Hard: 0}},
			Capabilities:      namespace.KeepCaps(namespace.Caps(unix.CAP_NET_BIND_SERVICE, unix.CAP_SYS_CHROOT)),
			NoNewPrivs:        true,
			Seccomp:           errnoFilter(unix.SYS_UNAME, syscall.EPERM),
			ParentDeathSignal: syscall.SIGKILL,
		}
		if handle {
			opts.New = namespace.Mount | namespace.UTS
			// The joined PID namespace's /proc, by a Mounts entry.
			opts.Mounts = append(opts.Mounts, namespace.MountSpec{Source: "proc", Target: "/proc", Type: "proc"})
		} else {
			opts.New = namespace.User | namespace.Mount | namespace.PID | namespace.UTS | namespace.IPC
			opts.UIDMap, opts.GIDMap = ownMaps()
			opts.SetGroups = idmap.Deny
			opts.MountProc = true
			if path == "copy" {
				opts.New |= namespace.Time
				opts.MonotonicOffset, opts.BoottimeOffset = 1000*time.Hour, 1000*time.Hour
			}
		}
		opts.Hostname = "attack"
		if privileged && !handle {
			opts.Cgroup = namespace.CgroupDir{Path: testCgroup(t)}
		}
		s := startWaitingWith(t, spawn, opts, `echo "pwd=$(pwd)"; echo "host=$(cat /proc/sys/kernel/hostname)"; uname -n >/dev/null 2>&1 && echo uname=ok || echo uname=refused; echo up=$(cut -d. -f1 /proc/uptime); ls /; echo x >&4`)
		pid := s.p.Pid
		st := procStatus(t, pid)
		for k, want := range map[string]string{"NoNewPrivs": "1", "Seccomp": "2"} {
			if st[k] != want {
				t.Errorf("status %s = %q, want %q", k, st[k], want)
			}
		}
		if got, want := capsOf(t, st)["CapEff"], namespace.Caps(unix.CAP_NET_BIND_SERVICE, unix.CAP_SYS_CHROOT); got != want {
			t.Errorf("CapEff %v, want %v", got, want)
		}
		limits := string(must(os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))))
		if !strings.Contains(limits, "Max open files            20                   24") || !strings.Contains(limits, "Max core file size        0                    0") {
			t.Errorf("limits:\n%s", limits)
		}
		ps, err := readProcStat(pid)
		if err != nil {
			t.Fatal(err)
		}
		if ps.ttyNr != ttyNr || ps.session != pid || ps.tpgid != pid {
			t.Errorf("stat: %+v, want the pty %d as the controlling terminal of session %d", ps, ttyNr, pid)
		}
		if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err != nil || cwd != "/work/deep" {
			t.Errorf("cwd %q %v, want /work/deep (in its own root)", cwd, err)
		}
		if opts.Cgroup.Path != "" {
			if got, want := procCgroup(t, strconv.Itoa(pid)), cgroupPathOf(t, opts.Cgroup.Path); got != want {
				t.Errorf("cgroup %s, want %s", got, want)
			}
		}
		out := s.finish(t)
		for _, want := range []string{"pwd=/work/deep\n", "host=attack\n", "uname=refused\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("inside: %q lacks %q", out, want)
			}
		}
		if opts.BoottimeOffset != 0 && !strings.Contains(out, "up=36") {
			t.Errorf("inside: %q: no monotonic offset", out)
		}
		pw.Close()
		if b, _ := io.ReadAll(pr); string(b) != "x\n" {
			t.Errorf("ExtraFiles[1] got %q", b)
		}
	})
}

// TestAttackHandleSpawnSourceOnlyThere binds, through Handle.Spawn, a file
// and a directory that exist only in the joined mount namespace (on a tmpfs
// there, over an empty directory of the caller's): the sources are resolved
// there, as MountSpec says, so the spawn must not refuse them for being
// missing in the caller's view, nor create the wrong kind of target.
func TestAttackHandleSpawnSourceOnlyThere(t *testing.T) {
	eachMountCase(t, func(t *testing.T, v mountVariant) {
		dir := t.TempDir()
		if err := os.Mkdir(dir+"/d", 0o755); err != nil { // a directory here, a file there
			t.Fatal(err)
		}
		target := v.opts
		target.New = v.opts.New &^ namespace.PID
		s := startWaiting(t, target, "")
		defer s.finish(t)
		kinds := namespace.Mount
		if target.New.Has(namespace.User) {
			kinds |= namespace.User
		}
		h, err := namespace.Join(s.p.Pid, kinds)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		in := namespace.Options{Path: "/bin/sh", Args: []string{"sh", "-c", "mount -t tmpfs nsgo-target " + dir + " && echo file > " + dir + "/file && echo d > " + dir + "/d && mkdir " + dir + "/sub " + dir + "/newroot && echo sub > " + dir + "/sub/x && echo root > " + dir + "/newroot/x"}}
		if err := waitOK(h.Spawn(in)); err != nil {
			if strings.Contains(err.Error(), ": test: ") {
				t.Skip(err)
			}
			t.Fatal(err)
		}
		var out strings.Builder
		opts := namespace.Options{Path: "/bin/sh", Args: []string{"sh", "-c", "cat /t/file /t/d /t/sub/x"}, New: namespace.Mount, Stdout: &out, Stderr: &out,
			Mounts: append(append([]namespace.MountSpec{{Source: "tmpfs", Target: "/", Type: "tmpfs"}}, readBinds()...),
				namespace.MountSpec{Source: dir + "/file", Target: "/t/file", Type: "bind"},
				namespace.MountSpec{Source: dir + "/d", Target: "/t/d", Type: "bind"},
				namespace.MountSpec{Source: dir + "/sub", Target: "/t/sub", Type: "bind"})}
		if err := waitOK(h.Spawn(opts)); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		if out.String() != "file\nd\nsub\n" {
			t.Errorf("the binds from the joined namespace show %q", out.String())
		}
		// A Root that exists only there.
		out.Reset()
		opts = namespace.Options{Path: "/bin/cat", Args: []string{"cat", "/x"}, New: namespace.Mount, Stdout: &out, Stderr: &out,
			Root: dir + "/newroot", Mounts: readBinds()}
		if err := waitOK(h.Spawn(opts)); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		if out.String() != "root\n" {
			t.Errorf("the Root from the joined namespace shows %q", out.String())
		}
		if got := dirNames(t, dir); !slices.Equal(got, []string{"d"}) {
			t.Errorf("the caller's %s has %q", dir, got)
		}
	})
}

// TestAttackSeccompIgnoreMissingNoAdmin: DropCaps keeps CAP_SYS_ADMIN in
// Capabilities.Effective, but IgnoreMissing leaves it out for a caller
// without it; a filter without NoNewPrivs is then refused before any
// clone, as Seccomp says, not by the child.
func TestAttackSeccompIgnoreMissingNoAdmin(t *testing.T) {
	if privileged {
		t.Skip("needs a caller without CAP_SYS_ADMIN: TestUnprivileged runs it as uid 65534")
	}
	if unix.SYS_UNAME != 63 {
		t.Skip("the filter is x86-64's")
	}
	if nnp := statusFields(string(must(os.ReadFile("/proc/self/status"))))["NoNewPrivs"]; nnp == "1" {
		t.Skip("this process has no_new_privs already (the clone3 seccomp launcher): the kernel takes any filter")
	}
	eachPath(t, func(t *testing.T) {
		before := takeCounts(t)
		_, err := namespace.Spawn(namespace.Options{Path: "/bin/true", Capabilities: namespace.DropCaps(), Seccomp: errnoFilter(unix.SYS_UNAME, syscall.EPERM)})
		var ce *namespace.ChildError
		if err == nil || errors.As(err, &ce) || !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "NoNewPrivs") {
			t.Errorf("got %v (%T), want an error before the clone that asks for NoNewPrivs", err, err)
		}
		checkNoLeak(t, before)
	})
}
