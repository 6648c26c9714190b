package namespace_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
)

// TestHandleSpawnNewPIDInJoined makes a new PID namespace inside a joined one
// (bwrap's --pidns with --unshare-pid), on every child path, with and
// without Init, and checks from outside that the program is where it should
// be: its PID namespace is new and a child of the joined one, Process.Pid is
// the number in the caller's namespace of its process, or of its init (NSpid:
// the caller's, the joined namespace's, 1 in the new one), inside the
// program is 1 (2 under Init), Wait gives its status, and no intermediate
// process is left.
func TestHandleSpawnNewPIDInJoined(t *testing.T) {
	tpid := unshareTarget(t)
	target, err := procfs.Namespaces(tpid)
	if err != nil {
		t.Fatal(err)
	}
	eachPath(t, func(t *testing.T) {
		for _, init := range []bool{false, true} {
			t.Run(fmt.Sprintf("init %v", init), func(t *testing.T) {
				before := takeCounts(t)
				h, err := namespace.Join(tpid, namespace.User|namespace.PID|namespace.Mount)
				if err != nil {
					t.Fatal(err)
				}
				defer h.Close()
				opts := namespace.Options{New: namespace.PID | namespace.Mount, MountProc: true, Init: init}
				s := startWaitingWith(t, h.Spawn, opts, `echo $$; exit 7`)
				nspid := nspidOf(t, s.p.Pid)
				got, err := procfs.Namespaces(s.p.Pid)
				if err != nil {
					t.Fatal(err)
				}
				parent, err := pidParent(s.p.Pid)
				switch {
				case err != nil:
					t.Errorf("parent of its PID namespace: %v", err)
				case got[namespace.PID] == target[namespace.PID]:
					t.Errorf("the program is in the joined PID namespace itself")
				case parent != target[namespace.PID]:
					t.Errorf("the parent of its PID namespace is %v, not the joined %v", parent, target[namespace.PID])
				}
				want := "1"
				if init {
					want = "2"
				}
				// Process.Pid is the program's, or its init's.
				if len(nspid) != 3 || nspid[0] != fmt.Sprint(s.p.Pid) || nspid[2] != "1" {
					t.Errorf("NSpid of Process.Pid %d: %q, want 3 levels ending in 1", s.p.Pid, nspid)
				}
				s.in.Write([]byte("go\n"))
				s.in.Close()
				st, err := s.p.Wait()
				if out := s.out.String(); err != nil || strings.TrimSpace(out) != want || st.ExitCode() != 7 {
					t.Errorf("output %q, status %v (%v); want %s, exit status 7", out, st, err, want)
				}
				h.Close()
				checkNoLeak(t, before)
			})
		}
	})
}

// TestHandleSpawnNewPIDInJoinedFails checks the failures of the second
// fork's program: a step that fails after it (a missing Dir) and a new PID
// namespace the kernel refuses (the joined one is owned by a user namespace
// the caller is not in) each give their error, and leave no process.
func TestHandleSpawnNewPIDInJoinedFails(t *testing.T) {
	tpid := unshareTarget(t)
	eachPath(t, func(t *testing.T) {
		for _, c := range []struct {
			name  string
			kinds namespace.Kind
			opts  namespace.Options
			want  string
		}{
			{"missing Dir", namespace.User | namespace.PID, namespace.Options{New: namespace.PID, Dir: "/nsgo-no-such-dir"}, "chdir /nsgo-no-such-dir: no such file or directory"},
			{"missing Dir, Init", namespace.User | namespace.PID, namespace.Options{New: namespace.PID, Init: true, Dir: "/nsgo-no-such-dir"}, "chdir /nsgo-no-such-dir: no such file or directory"},
			{"not in the owner", namespace.PID, namespace.Options{New: namespace.PID}, "unshare pid inside the joined PID namespace (it takes the user namespace that owns it, or one below it): invalid argument"},
		} {
			t.Run(c.name, func(t *testing.T) {
				if !privileged && !c.kinds.Has(namespace.User) {
					t.Skip("joins the target's PID namespace without its user namespace, which takes root")
				}
				before := takeCounts(t)
				h, err := namespace.Join(tpid, c.kinds)
				if err != nil {
					t.Fatal(err)
				}
				c.opts.Path = "/bin/true"
				p, err := h.Spawn(c.opts)
				h.Close()
				if err == nil {
					p.Wait()
					t.Fatalf("no error")
				}
				if strings.Contains(err.Error(), ": test: ") {
					t.Skip(err) // a combination this child path cannot make
				}
				if !strings.Contains(err.Error(), c.want) {
					t.Errorf("error %q, want %q", err, c.want)
				}
				checkNoLeak(t, before)
			})
		}
	})
}

// nspidOf returns the NSpid numbers of process pid.
func nspidOf(t *testing.T, pid int) []string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
			return strings.Fields(v)
		}
	}
	t.Fatalf("no NSpid in /proc/%d/status", pid)
	return nil
}

// TestFromPaths pins a user and a PID namespace given as two paths, as bwrap's
// --userns and --pidns give them, and spawns into both with a new PID
// namespace inside; bad input gives an error and leaves no descriptor.
func TestFromPaths(t *testing.T) {
	tpid := unshareTarget(t)
	target, err := procfs.Namespaces(tpid)
	if err != nil {
		t.Fatal(err)
	}
	user, pid := fmt.Sprintf("/proc/%d/ns/user", tpid), fmt.Sprintf("/proc/%d/ns/pid", tpid)
	before := takeCounts(t)
	h, err := namespace.FromPaths(pid, user)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Kinds(); got != namespace.User|namespace.PID {
		t.Errorf("Kinds %v, want user|pid", got)
	}
	if ids := h.IDs(); ids[namespace.User] != target[namespace.User] || ids[namespace.PID] != target[namespace.PID] {
		t.Errorf("IDs %v, want the target's user %v and pid %v", ids, target[namespace.User], target[namespace.PID])
	}
	s := startWaitingWith(t, h.Spawn, namespace.Options{New: namespace.PID | namespace.Mount, MountProc: true}, `echo $$`)
	got, err := procfs.Namespaces(s.p.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if got[namespace.User] != target[namespace.User] {
		t.Errorf("user namespace %v, not the target's %v", got[namespace.User], target[namespace.User])
	}
	if parent, err := pidParent(s.p.Pid); err != nil || parent != target[namespace.PID] {
		t.Errorf("the parent of its PID namespace is %v (%v), not the target's %v", parent, err, target[namespace.PID])
	}
	if out := s.finish(t); out != "1\n" {
		t.Errorf("output %q, want 1", out)
	}
	h.Close()
	checkNoLeak(t, before)

	for _, c := range []struct {
		paths []string
		want  string
	}{
		{nil, "join: no paths: invalid argument"},
		{[]string{user, pid, user}, "a second user namespace: invalid argument"},
		{[]string{user, "/nsgo-no-such-file"}, "no such file or directory"},
		{[]string{pid, "/proc/self/status"}, "not a namespace file"},
	} {
		h, err := namespace.FromPaths(c.paths...)
		if err == nil {
			h.Close()
			t.Errorf("FromPaths(%q): no error", c.paths)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("FromPaths(%q): %v, want %q", c.paths, err, c.want)
		}
		checkNoLeak(t, before)
	}
}

// TestHandleSpawnOnClone checks that Handle.Spawn's OnClone gets the
// program's process (or its init's) once it is in its namespaces, joined and
// new, on every path: the PID is Process.Pid, the only new child of the
// caller's while the hook runs (the intermediates are reaped), and
// /proc/PID/ns then shows the target's user namespace and the new network and
// PID namespaces (a child of the target's, if joined) that the program ends
// up in. An error from the hook
// leaves no process.
func TestHandleSpawnOnClone(t *testing.T) {
	tpid := unshareTarget(t)
	target, err := procfs.Namespaces(tpid)
	if err != nil {
		t.Fatal(err)
	}
	eachPath(t, func(t *testing.T) {
		for _, c := range onCloneCases() {
			t.Run(c.name, func(t *testing.T) {
				before := takeCounts(t)
				kids := children(t)
				h, err := namespace.Join(tpid, c.join)
				if err != nil {
					t.Fatal(err)
				}
				defer h.Close()
				var hookPid int
				var seen map[namespace.Kind]procfs.ID
				var pidParentSeen procfs.ID
				var inHook []int // new children while the hook runs
				nested := c.join.Has(namespace.PID) && c.opts.New.Has(namespace.PID)
				c.opts.OnClone = func(pid int) (err error) {
					hookPid = pid
					for _, k := range children(t) {
						if !slices.Contains(kids, k) {
							inHook = append(inHook, k)
						}
					}
					seen, err = procfs.Namespaces(pid)
					if nested {
						pidParentSeen, _ = pidParent(pid)
					}
					return err
				}
				s := startWaitingWith(t, h.Spawn, c.opts, `exit 0`)
				if len(inHook) != 1 || inHook[0] != hookPid {
					t.Errorf("children while OnClone ran %v, want only %d: the intermediates reaped", inHook, hookPid)
				}
				got, err := procfs.Namespaces(s.p.Pid)
				if err != nil {
					t.Fatal(err)
				}
				if hookPid != s.p.Pid {
					t.Errorf("OnClone got PID %d, the program's process is %d", hookPid, s.p.Pid)
				}
				for _, k := range []namespace.Kind{namespace.User, namespace.Net, namespace.PID, namespace.UTS} {
					if seen[k] != got[k] {
						t.Errorf("%s: OnClone saw %v, the program is in %v", k, seen[k], got[k])
					}
				}
				if seen[namespace.User] != target[namespace.User] {
					t.Errorf("OnClone saw user %v, not the target's %v", seen[namespace.User], target[namespace.User])
				}
				if nested && pidParentSeen != target[namespace.PID] {
					t.Errorf("OnClone saw a PID namespace whose parent is %v, not the target's %v", pidParentSeen, target[namespace.PID])
				}
				s.finish(t)
				h.Close()
				checkNoLeak(t, before)

				// An error from the hook: nothing left.
				h, err = namespace.Join(tpid, c.join)
				if err != nil {
					t.Fatal(err)
				}
				defer h.Close()
				c.opts.OnClone = func(int) error { return os.ErrDeadlineExceeded }
				c.opts.Path = "/bin/true"
				if p, err := h.Spawn(c.opts); err == nil {
					p.Wait()
					t.Error("no error from a failing OnClone")
				} else if !strings.Contains(err.Error(), "OnClone: i/o timeout") {
					t.Errorf("error %v, want OnClone's", err)
				}
				h.Close()
				checkNoLeak(t, before)
			})
		}
	})
}
