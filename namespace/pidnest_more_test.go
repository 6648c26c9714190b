package namespace_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// TestPidnestFailures: a new PID namespace inside a joined one, with
// and without Init, failing at various steps after the second fork: a
// mount, seccomp, OnClone, an exec of a missing file, a descriptor; each
// must give its error and leave no process or descriptor.
func TestPidnestFailures(t *testing.T) {
	tpid := unshareTarget(t)
	badFilter := []unix.SockFilter{{Code: 0xffff}} // invalid opcode: EINVAL
	eachPath(t, func(t *testing.T) {
		for _, init := range []bool{false, true} {
			for _, c := range []struct {
				name string
				opts namespace.Options
				want string
			}{
				{"bad mount", namespace.Options{New: namespace.PID | namespace.Mount, Mounts: []namespace.MountSpec{{Source: "/nsgo-nonexistent", Target: "/mnt", Type: "bind"}}}, "no such file"},
				{"bad seccomp", namespace.Options{New: namespace.PID, Seccomp: badFilter}, "invalid argument"},
				{"OnClone error", namespace.Options{New: namespace.PID, OnClone: func(int) error { return errors.New("nope") }}, "OnClone: nope"},
				{"missing program", namespace.Options{New: namespace.PID, Path: "/nsgo-no-such-program"}, "no such file"},
				{"bad hostname", namespace.Options{New: namespace.PID | namespace.UTS, Hostname: strings.Repeat("x", 65)}, "longer than"},
			} {
				t.Run(fmt.Sprintf("%s/init %v", c.name, init), func(t *testing.T) {
					before := takeCounts(t)
					h, err := namespace.Join(tpid, namespace.User|namespace.PID|namespace.Mount|namespace.UTS)
					if err != nil {
						t.Fatal(err)
					}
					defer h.Close()
					c.opts.Init = init
					if c.opts.Path == "" {
						c.opts.Path = "/bin/true"
					}
					p, err := h.Spawn(c.opts)
					if err == nil {
						st, _ := p.Wait()
						h.Close()
						t.Fatalf("no error; status %v", st)
					}
					if strings.Contains(err.Error(), ": test: ") {
						t.Skip(err)
					}
					if !strings.Contains(err.Error(), c.want) {
						t.Errorf("error %q, want %q", err, c.want)
					}
					h.Close()
					checkNoLeak(t, before)
				})
			}
		}
	})
}

// TestPidnestKillAfterRefork: the child kills itself right after
// forking the process that makes the new PID namespace.
func TestPidnestKillAfterRefork(t *testing.T) {
	tpid := unshareTarget(t)
	old := namespace.SetKillAfterRefork(true)
	defer namespace.SetKillAfterRefork(old)
	eachPath(t, func(t *testing.T) {
		for _, init := range []bool{false, true} {
			t.Run(fmt.Sprintf("init %v", init), func(t *testing.T) {
				before := takeCounts(t)
				h, err := namespace.Join(tpid, namespace.User|namespace.PID|namespace.Mount)
				if err != nil {
					t.Fatal(err)
				}
				defer h.Close()
				s := startWaitingWith(t, h.Spawn, namespace.Options{New: namespace.PID | namespace.Mount, MountProc: true, Init: init}, `echo $$`)
				nspid := nspidOf(t, s.p.Pid)
				if len(nspid) != 3 || nspid[0] != fmt.Sprint(s.p.Pid) || nspid[2] != "1" {
					t.Errorf("NSpid %q for Pid %d", nspid, s.p.Pid)
				}
				out := s.finish(t)
				want := "1\n"
				if init {
					want = "2\n"
				}
				if out != want {
					t.Errorf("output %q, want %q", out, want)
				}
				h.Close()
				checkNoLeak(t, before)
			})
		}
	})
}

// TestPidnestProcess: the resulting Process's PidFD names Process.Pid,
// Kill ends it (with Init, the whole namespace), SpawnContext's cancel kills
// it, and nothing is left.
func TestPidnestProcess(t *testing.T) {
	tpid := unshareTarget(t)
	eachPath(t, func(t *testing.T) {
		for _, init := range []bool{false, true} {
			t.Run(fmt.Sprintf("init %v", init), func(t *testing.T) {
				before := takeCounts(t)
				h, err := namespace.Join(tpid, namespace.User|namespace.PID|namespace.Mount)
				if err != nil {
					t.Fatal(err)
				}
				defer h.Close()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				r, w, _ := os.Pipe()
				defer r.Close()
				defer w.Close()
				p, err := h.SpawnContext(ctx, namespace.Options{New: namespace.PID | namespace.Mount, MountProc: true, Init: init,
					Path: "/bin/sh", Args: []string{"sh", "-c", "sleep 1000 & sleep 1000 & echo ready; wait"}, Stdout: w, ParentDeathSignal: unix.SIGKILL})
				if err != nil {
					if strings.Contains(err.Error(), ": test: ") {
						t.Skip(err)
					}
					t.Fatal(err)
				}
				w.Close()
				buf := make([]byte, 6)
				r.Read(buf)
				fd, err := p.PidFD()
				if err != nil {
					t.Fatal(err)
				}
				b, _ := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", fd))
				if !strings.Contains(string(b), fmt.Sprintf("\nPid:\t%d\n", p.Pid)) {
					t.Errorf("pidfd fdinfo %q, Pid %d", b, p.Pid)
				}
				nspid := nspidOf(t, p.Pid)
				if len(nspid) != 3 || nspid[2] != "1" {
					t.Errorf("NSpid %q", nspid)
				}
				// The program's namespace, to find what is left in it.
				pidns, pin := pinPIDNS(t, p.Pid)
				defer pin.Close()
				cancel()
				st, err := p.Wait()
				if err != nil || st.Exited() {
					t.Errorf("state %v, %v; want killed", st, err)
				}
				time.Sleep(100 * time.Millisecond)
				if left := inPIDNS(pidns); len(left) > 0 {
					t.Errorf("left in the program's PID namespace %s: %v", pidns, left)
				}
				pin.Close()
				r.Close()
				h.Close()
				checkNoLeak(t, before)
			})
		}
	})
}

// TestPidnestConcurrent spawns many nested programs at once and checks
// that each Process.Pid is its own program's (NSpid ending in 1, with the
// program's output telling its PID in the joined namespace).
func TestPidnestConcurrent(t *testing.T) {
	tpid := unshareTarget(t)
	for _, fallback := range []bool{false, true} {
		t.Run(fmt.Sprintf("fallback %v", fallback), func(t *testing.T) {
			old := namespace.SetPIDsFallback(fallback)
			defer namespace.SetPIDsFallback(old)
			before := takeCounts(t)
			h, err := namespace.Join(tpid, namespace.User|namespace.PID|namespace.Mount)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			var wg sync.WaitGroup
			var mu sync.Mutex
			for i := 0; i < 24; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var out strings.Builder
					r, w, _ := os.Pipe()
					p, err := h.Spawn(namespace.Options{New: namespace.PID, Init: i%2 == 0, Path: "/bin/sh", Args: []string{"sh", "-c", "read x; echo $$"}, Stdin: r, Stdout: &out})
					r.Close()
					if err != nil {
						w.Close()
						mu.Lock()
						t.Error(err)
						mu.Unlock()
						return
					}
					b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid))
					var nspid []string
					for line := range strings.Lines(string(b)) {
						if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
							nspid = strings.Fields(v)
						}
					}
					ppid := ""
					for line := range strings.Lines(string(b)) {
						if v, ok := strings.CutPrefix(line, "PPid:"); ok {
							ppid = strings.TrimSpace(v)
						}
					}
					w.Write([]byte("x\n"))
					w.Close()
					st, werr := p.Wait()
					mu.Lock()
					defer mu.Unlock()
					if err != nil || len(nspid) != 3 || nspid[0] != fmt.Sprint(p.Pid) || nspid[2] != "1" || ppid != fmt.Sprint(os.Getpid()) {
						t.Errorf("Pid %d: NSpid %q PPid %s (%v)", p.Pid, nspid, ppid, err)
					}
					want := "1"
					if i%2 == 0 {
						want = "2"
					}
					if werr != nil || !st.Success() || strings.TrimSpace(out.String()) != want {
						t.Errorf("Pid %d: %v %v %q", p.Pid, st, werr, out.String())
					}
				}()
			}
			wg.Wait()
			h.Close()
			checkNoLeakThreads(t, before, 24)
		})
	}
}

// TestPidnestDeadInit: the joined PID namespace's init has died; a
// new PID namespace inside it must fail cleanly (the kernel: ENOMEM).
func TestPidnestDeadInit(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		h := joinDeadInit(t)
		defer h.Close()
		for _, init := range []bool{false, true} {
			before := takeCounts(t)
			p, err := h.Spawn(namespace.Options{New: namespace.PID, Init: init, Path: "/bin/true"})
			if err == nil {
				p.Wait()
				t.Fatalf("init %v: no error", init)
			}
			if strings.Contains(err.Error(), ": test: ") {
				continue
			}
			if !strings.Contains(err.Error(), "cannot allocate memory") {
				t.Errorf("init %v: %v", init, err)
			}
			checkNoLeak(t, before)
		}
	})
}

// TestPidnestFromPathsOdd: FromPaths with odd inputs.
func TestPidnestFromPathsOdd(t *testing.T) {
	tpid := unshareTarget(t)
	before := takeCounts(t)
	pid := fmt.Sprintf("/proc/%d/ns/pid", tpid)
	for _, c := range []struct {
		paths []string
		want  string
	}{
		{[]string{pid, fmt.Sprintf("/proc/%d/ns/pid_for_children", tpid)}, "a second pid namespace"},
		{[]string{""}, "no such file"},
		{[]string{"/proc/self/ns"}, "not a namespace file"},
		{[]string{pid, "/dev/null"}, "not a namespace file"},
	} {
		h, err := namespace.FromPaths(c.paths...)
		if err == nil {
			t.Errorf("FromPaths(%q): no error: %v", c.paths, h.Kinds())
			h.Close()
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("FromPaths(%q): %v, want %q", c.paths, err, c.want)
		}
	}
	checkNoLeak(t, before)

	// The caller's own PID namespace and the target's user namespace: the
	// new PID namespace is then the caller's child, owned by that user
	// namespace.
	h, err := namespace.FromPaths("/proc/self/ns/pid", fmt.Sprintf("/proc/%d/ns/user", tpid))
	if err != nil {
		t.Fatal(err)
	}
	s := startWaitingWith(t, h.Spawn, namespace.Options{New: namespace.PID | namespace.Mount, MountProc: true, Init: true}, `echo $$`)
	if nspid := nspidOf(t, s.p.Pid); len(nspid) != 2 || nspid[1] != "1" {
		t.Errorf("NSpid %q", nspid)
	}
	if out := s.finish(t); out != "2\n" {
		t.Errorf("output %q", out)
	}
	// Time too, from a path: the child must then be a copy.
	h.Close()
	h, err = namespace.FromPaths(fmt.Sprintf("/proc/%d/ns/time", tpid), fmt.Sprintf("/proc/%d/ns/user", tpid), pid)
	if err != nil {
		t.Fatal(err)
	}
	s = startWaitingWith(t, h.Spawn, namespace.Options{New: namespace.PID | namespace.Mount, MountProc: true}, `echo $$`)
	if out := s.finish(t); out != "1\n" {
		t.Errorf("output %q", out)
	}
	h.Close()
	checkNoLeak(t, before)
}

// TestPidnestDeep joins a PID namespace two levels below the caller's
// (a grandchild) and one owned by the initial user namespace (root only),
// and checks Process.Pid, with the ioctls and with the NSpid fallback.
func TestPidnestDeep(t *testing.T) {
	outer := startUnshare(t, "--pid", "--user", "--map-root-user", "--mount-proc", "unshare", "--pid", "--fork", "--kill-child", "--mount-proc")
	var deep int
	for i := 0; i < 100 && deep == 0; i++ {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", outer, outer))
		fmt.Sscan(strings.TrimSpace(string(b)), &deep)
		time.Sleep(10 * time.Millisecond)
	}
	if nspid := nspidOf(t, deep); len(nspid) != 3 {
		t.Fatalf("target NSpid %q", nspid)
	}
	targets := []struct {
		name  string
		pid   int
		kinds namespace.Kind
		depth int
	}{{"grandchild", deep, namespace.User | namespace.PID, 4}}
	if privileged {
		root := startUnshare(t, "--pid", "--mount-proc")
		targets = append(targets, struct {
			name  string
			pid   int
			kinds namespace.Kind
			depth int
		}{"owned by the initial user namespace", root, namespace.PID, 3})
	}
	for _, tg := range targets {
		for _, fallback := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/fallback %v", tg.name, fallback), func(t *testing.T) {
				old := namespace.SetPIDsFallback(fallback)
				defer namespace.SetPIDsFallback(old)
				eachPath(t, func(t *testing.T) {
					for _, init := range []bool{false, true} {
						before := takeCounts(t)
						h, err := namespace.Join(tg.pid, tg.kinds)
						if err != nil {
							t.Fatal(err)
						}
						r, w, _ := os.Pipe()
						var out strings.Builder
						p, err := h.Spawn(namespace.Options{New: namespace.PID, Init: init, Path: "/bin/sh", Args: []string{"sh", "-c", "read x; echo $$"}, Stdin: r, Stdout: &out})
						r.Close()
						if err != nil {
							w.Close()
							h.Close()
							if strings.Contains(err.Error(), ": test: ") {
								continue
							}
							t.Fatal(err)
						}
						nspid := nspidOf(t, p.Pid)
						if len(nspid) != tg.depth || nspid[0] != fmt.Sprint(p.Pid) || nspid[tg.depth-1] != "1" {
							t.Errorf("init %v: Pid %d, NSpid %q", init, p.Pid, nspid)
						}
						w.Write([]byte("x\n"))
						w.Close()
						if st, err := p.Wait(); err != nil || !st.Success() {
							t.Errorf("init %v: %v %v", init, st, err)
						}
						h.Close()
						checkNoLeak(t, before)
					}
				})
			})
		}
	}
}

// joinDeadInit joins the user and PID namespaces of a process that unshare
// made, and kills it: the PID namespace's init, so that no process can be
// forked into it any more (ENOMEM).
func joinDeadInit(t *testing.T) *namespace.Handle {
	t.Helper()
	tpid := startUnshare(t, "--pid", "--user", "--map-root-user")
	h, err := namespace.Join(tpid, namespace.User|namespace.PID)
	if err != nil {
		t.Fatal(err)
	}
	unix.Kill(tpid, unix.SIGKILL)
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", tpid)); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return h
}
