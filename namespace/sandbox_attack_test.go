package namespace_test

// Attacks on the sandbox options: combinations that the family tests do not
// make, each on every child path.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"

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

// attackHelpers are programs that the test binary runs as itself, inside
// namespaces a test made for it (util-linux's unshare), before TestMain.
var attackHelpers = map[string]func() error{
	"unchanged-root": unchangedRootHelper,
}

func init() {
	if name := os.Getenv("NSGO_ATTACK_HELPER"); name != "" {
		if err := attackHelpers[name](); err != nil {
			fmt.Printf("%s: %v\n", name, err)
			os.Exit(1)
		}
		fmt.Printf("%s: ok\n", name)
		os.Exit(0)
	}
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
		for _, c := range []struct {
			how  string
			prop namespace.Propagation
		}{{"Root", namespace.PropagationUnchanged}, {"tmpfs on /", namespace.PropagationUnchanged},
			{"Root", namespace.PropagationSlave}, {"tmpfs on /", namespace.PropagationSlave},
			{"Root", namespace.PropagationPrivate}, {"tmpfs on /", namespace.PropagationPrivate}} {
			how := c.how
			namespace.SetChildPath(path)
			before, err := own()
			if err != nil {
				return err
			}
			opts := namespace.Options{Path: "/bin/true", New: namespace.Mount, Propagation: c.prop}
			if how == "Root" {
				opts.Root = root
			} else {
				opts.Mounts = []namespace.MountSpec{{Source: "tmpfs", Target: "/", Type: "tmpfs"}}
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
	cmd := exec.Command("unshare", "-m", "--propagation", "shared", os.Args[0])
	cmd.Env = append(os.Environ(), "NSGO_ATTACK_HELPER=unchanged-root")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
