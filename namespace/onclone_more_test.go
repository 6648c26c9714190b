package namespace_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

type onCloneCase struct {
	name string
	join namespace.Kind
	opts namespace.Options
}

func onCloneCases() []onCloneCase {
	return []onCloneCase{
		{"pid joined and new, Init", namespace.User | namespace.PID | namespace.Mount, namespace.Options{New: namespace.PID | namespace.Net, Init: true}},
		{"pid joined and new", namespace.User | namespace.PID | namespace.Mount, namespace.Options{New: namespace.PID | namespace.Net}},
		{"pid joined", namespace.User | namespace.PID, namespace.Options{New: namespace.Net}},
		{"no pid", namespace.User | namespace.UTS, namespace.Options{New: namespace.Net}},
		{"new pid only", namespace.User | namespace.UTS, namespace.Options{New: namespace.PID}},
	}
}

// TestOnCloneKill: the hook SIGKILLs the PID it gets and returns nil.
// Spawn must not hang; it returns an error or a Process whose Wait says
// killed; nothing is left.
func TestOnCloneKill(t *testing.T) {
	tpid := unshareTarget(t)
	eachPath(t, func(t *testing.T) {
		for _, c := range onCloneCases() {
			for _, wait := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/wait %v", c.name, wait), func(t *testing.T) {
					before := takeCounts(t)
					h, err := namespace.Join(tpid, c.join)
					if err != nil {
						t.Fatal(err)
					}
					defer h.Close()
					c.opts.Path = "/bin/true"
					c.opts.OnClone = func(pid int) error {
						unix.Kill(pid, unix.SIGKILL)
						if wait {
							// Let it die completely (a zombie).
							for i := 0; i < 200; i++ {
								b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
								if strings.Contains(string(b), ") Z ") {
									break
								}
								time.Sleep(5 * time.Millisecond)
							}
						}
						return nil
					}
					done := make(chan struct{})
					var p *namespace.Process
					go func() {
						defer close(done)
						p, err = h.Spawn(c.opts)
					}()
					select {
					case <-done:
					case <-time.After(20 * time.Second):
						t.Fatal("Spawn hangs")
					}
					if strings.Contains(fmt.Sprint(err), ": test: ") {
						t.Skip(err)
					}
					if err == nil {
						st, werr := p.Wait()
						if werr != nil || st.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
							t.Errorf("status %v %v, want killed", st, werr)
						}
					} else {
						t.Logf("error: %v", err)
					}
					h.Close()
					checkNoLeak(t, before)
				})
			}
		}
	})
}

// TestOnCloneBlockFD: OnClone with BlockFD; the hook sees the
// namespaces, then releases BlockFD itself. An OnClone error with BlockFD
// leaves nothing.
func TestOnCloneBlockFD(t *testing.T) {
	tpid := unshareTarget(t)
	eachPath(t, func(t *testing.T) {
		for _, c := range onCloneCases() {
			t.Run(c.name, func(t *testing.T) {
				before := takeCounts(t)
				h, err := namespace.Join(tpid, c.join)
				if err != nil {
					t.Fatal(err)
				}
				defer h.Close()
				br, bw, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				var seen map[namespace.Kind]procfs.ID
				var hookPid int
				c.opts.BlockFD = br
				c.opts.OnClone = func(pid int) error {
					hookPid = pid
					var err error
					seen, err = procfs.Namespaces(pid)
					bw.Write([]byte{1})
					return err
				}
				c.opts.Path, c.opts.Args = "/bin/sleep", []string{"sleep", "100"}
				p, err := h.Spawn(c.opts)
				br.Close()
				bw.Close()
				if err != nil {
					if strings.Contains(err.Error(), ": test: ") {
						t.Skip(err)
					}
					t.Fatal(err)
				}
				got, err := procfs.Namespaces(p.Pid)
				if err != nil {
					t.Fatal(err)
				}
				if hookPid != p.Pid {
					t.Errorf("hook %d Pid %d", hookPid, p.Pid)
				}
				for _, k := range []namespace.Kind{namespace.User, namespace.Net, namespace.PID, namespace.UTS, namespace.Mount} {
					if seen[k] != got[k] {
						t.Errorf("%s: hook saw %v, program in %v", k, seen[k], got[k])
					}
				}
				p.Kill()
				p.Wait()

				// OnClone fails, BlockFD never written.
				br, bw, _ = os.Pipe()
				c.opts.BlockFD = br
				c.opts.OnClone = func(int) error { return errors.New("nope") }
				c.opts.Path, c.opts.Args = "/bin/true", nil
				p, err = h.Spawn(c.opts)
				br.Close()
				bw.Close()
				if err == nil {
					p.Wait()
					t.Error("no error")
				} else if !strings.Contains(err.Error(), "OnClone: nope") {
					t.Errorf("error %v", err)
				}
				h.Close()
				checkNoLeak(t, before)
			})
		}
	})
}

// TestOnClonePidfdMoved: the joined process moves after Join; the
// pidfd attempt fails before ready, the retry goes through the descriptors.
// OnClone must run once, with the program's PID, in the pinned namespace.
func TestOnClonePidfdMoved(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip(err)
	}
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--uts", "--pid", "--fork", "--kill-child",
		"sh", "-c", "echo ready; read x; exec unshare --uts sleep 1000")
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if line, err := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
		t.Fatalf("target: %q %v", line, err)
	}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
	var tpid int
	fmt.Sscan(string(b), &tpid)
	h, err := namespace.Join(tpid, namespace.User|namespace.UTS|namespace.PID)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	pinned := h.IDs()[namespace.UTS]
	in.Write([]byte("move\n"))
	for start := time.Now(); ; time.Sleep(5 * time.Millisecond) {
		now, err := procfs.Namespaces(tpid)
		if err == nil && now[namespace.UTS] != pinned {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("the target did not move")
		}
	}
	for _, c := range []namespace.Options{{New: namespace.Net}, {New: namespace.PID | namespace.Net}, {New: namespace.PID, Init: true}} {
		t.Run(c.New.String(), func(t *testing.T) {
			before := takeCounts(t)
			var calls []int
			var seen map[namespace.Kind]procfs.ID
			c.OnClone = func(pid int) (err error) {
				calls = append(calls, pid)
				seen, err = procfs.Namespaces(pid)
				return err
			}
			c.Path, c.Args = "/bin/sleep", []string{"sleep", "100"}
			p, err := h.Spawn(c)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := procfs.Namespaces(p.Pid)
			p.Kill()
			p.Wait()
			if len(calls) != 1 || calls[0] != p.Pid {
				t.Errorf("OnClone calls %v, Pid %d", calls, p.Pid)
			}
			if seen[namespace.UTS] != pinned || got[namespace.UTS] != pinned {
				t.Errorf("uts: hook %v program %v pinned %v", seen[namespace.UTS], got[namespace.UTS], pinned)
			}
			checkNoLeak(t, before)
		})
	}
}

// TestOnCloneDeadTarget: the joined PID namespace's init is dead, so
// the fork into it fails before ready: OnClone must not run.
func TestOnCloneDeadTarget(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		h := joinDeadInit(t)
		defer h.Close()
		for _, o := range []namespace.Options{{New: namespace.PID}, {New: namespace.Net}, {New: namespace.PID, Init: true}} {
			before := takeCounts(t)
			called := false
			o.OnClone = func(int) error { called = true; return nil }
			o.Path = "/bin/true"
			p, err := h.Spawn(o)
			if err == nil {
				p.Wait()
				t.Fatalf("%v: no error", o.New)
			}
			if strings.Contains(err.Error(), ": test: ") {
				continue
			}
			if called {
				t.Errorf("%v: OnClone called before a failure: %v", o.New, err)
			}
			t.Logf("%v: %v", o.New, err)
			checkNoLeak(t, before)
		}
	})
}

// TestOnCloneConcurrent: many Handle.Spawn with OnClone at once;
// every hook gets its own program's PID.
func TestOnCloneConcurrent(t *testing.T) {
	tpid := unshareTarget(t)
	before := takeCounts(t)
	h, err := namespace.Join(tpid, namespace.User|namespace.PID|namespace.Mount)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var wg sync.WaitGroup
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var hookPid int
			var nspid string
			o := namespace.Options{New: namespace.PID | namespace.Net, Init: i%2 == 0, Path: "/bin/true"}
			if i%3 == 0 {
				o.ParentDeathSignal = syscall.SIGKILL
			}
			o.OnClone = func(pid int) error {
				hookPid = pid
				b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
				for line := range strings.Lines(string(b)) {
					if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
						nspid = strings.Join(strings.Fields(v), " ")
					}
				}
				time.Sleep(time.Duration(i%4) * 10 * time.Millisecond)
				return err
			}
			p, err := h.Spawn(o)
			if err != nil {
				t.Error(err)
				return
			}
			if hookPid != p.Pid || !strings.HasPrefix(nspid, fmt.Sprint(p.Pid)+" ") || !strings.HasSuffix(nspid, " 1") {
				t.Errorf("%d: hook %d nspid %q, Pid %d", i, hookPid, nspid, p.Pid)
			}
			st, err := p.Wait()
			if err != nil || !st.Success() {
				t.Errorf("%d: %v %v", i, st, err)
			}
		}(i)
	}
	wg.Wait()
	h.Close()
	checkNoLeakThreads(t, before, 30)
}

// TestOnClonePdeathsig: with ParentDeathSignal (the spawn thread),
// OnClone sees the process in its namespaces, and the program has the
// death signal.
func TestOnClonePdeathsig(t *testing.T) {
	tpid := unshareTarget(t)
	eachPath(t, func(t *testing.T) {
		for _, c := range onCloneCases() {
			t.Run(c.name, func(t *testing.T) {
				before := takeCounts(t)
				h, err := namespace.Join(tpid, c.join)
				if err != nil {
					t.Fatal(err)
				}
				defer h.Close()
				var seen map[namespace.Kind]procfs.ID
				c.opts.ParentDeathSignal = syscall.SIGKILL
				c.opts.OnClone = func(pid int) (err error) {
					time.Sleep(50 * time.Millisecond)
					seen, err = procfs.Namespaces(pid)
					return err
				}
				s := startWaitingWith(t, h.Spawn, c.opts, `grep -q 'PPid:' /proc/self/status; exit 0`)
				got, _ := procfs.Namespaces(s.p.Pid)
				for _, k := range []namespace.Kind{namespace.User, namespace.Net, namespace.PID, namespace.UTS} {
					if seen[k] != got[k] {
						t.Errorf("%s: hook %v program %v", k, seen[k], got[k])
					}
				}
				s.finish(t)
				h.Close()
				checkNoLeak(t, before)
			})
		}
	})
}
