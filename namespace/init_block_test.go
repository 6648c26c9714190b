package namespace_test

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nsgo/nsgo/namespace"
)

// childrenOf lists the PIDs whose parent is pid.
func childrenOf(pid int) []int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	var out []int
	for _, f := range strings.Fields(string(b)) {
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}

// TestInitBlockFDKillInit: with Init and BlockFD, the program's
// process waits for BlockFD while the init sleeps in its vfork; SIGKILL
// of the init (from OnClone's PID) then ends both, and Spawn returns
// without hanging and without leftovers. Other signals to the init while
// it sleeps are ignored, and the program then runs normally.
func TestInitBlockFDKillInit(t *testing.T) {
	uidMap, gidMap := ownMaps()
	eachPath(t, func(t *testing.T) {
		cur := namespace.SetChildPath("")
		namespace.SetChildPath(cur)
		if cur == "vfork" {
			t.Skip("a vfork child cannot stay as Init")
		}
		for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGCHLD, syscall.SIGSEGV} {
			t.Run(sig.String(), func(t *testing.T) {
				before := takeCounts(t)
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				initPid := make(chan int, 1)
				opts := namespace.Options{Path: "/bin/sh", Args: []string{"sh", "-c", "exit 3"},
					New: namespace.User | namespace.PID, UIDMap: uidMap, GIDMap: gidMap, Init: true, BlockFD: r,
					OnClone: func(pid int) error { initPid <- pid; return nil }}
				done := make(chan struct{})
				var prog int
				go func() {
					defer close(done)
					var pid int
					select {
					case pid = <-initPid:
					case <-time.After(5 * time.Second):
						w.Write([]byte{1})
						return
					}
					deadline := time.Now().Add(5 * time.Second)
					for time.Now().Before(deadline) {
						if c := childrenOf(pid); len(c) > 0 {
							prog = c[0]
							// Wait until the program's process blocks in read.
							time.Sleep(50 * time.Millisecond)
							break
						}
						time.Sleep(time.Millisecond)
					}
					if st := procState(pid); st != "D" && st != "S" {
						t.Errorf("init %d state %q while the program waits", pid, st)
					}
					syscall.Kill(pid, sig)
					time.Sleep(50 * time.Millisecond)
					w.Write([]byte{1})
				}()
				type res struct {
					p   *namespace.Process
					err error
				}
				got := make(chan res, 1)
				go func() {
					p, err := namespace.Spawn(opts)
					got <- res{p, err}
				}()
				var rr res
				select {
				case rr = <-got:
				case <-time.After(10 * time.Second):
					t.Fatal("Spawn hangs")
				}
				<-done
				w.Close()
				r.Close()
				if rr.err != nil && strings.Contains(rr.err.Error(), ": test: ") {
					t.Skip(rr.err)
				}
				if prog == 0 {
					t.Errorf("never saw the program's process")
				}
				if sig == syscall.SIGKILL {
					if rr.err == nil {
						st, err := rr.p.Wait()
						if ws := st.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
							t.Errorf("killed init: %v %v", st, err)
						}
					}
				} else {
					if rr.err != nil {
						t.Fatalf("%v after %v to the init", rr.err, sig)
					}
					st, err := rr.p.Wait()
					if err != nil || st.ExitCode() != 3 {
						t.Errorf("after %v to the init: %v %v, want exit status 3", sig, st, err)
					}
				}
				if prog != 0 {
					if st := procState(prog); st != "" {
						t.Errorf("program's process %d left, state %q", prog, st)
					}
				}
				t.Logf("%v: spawn %v", sig, rr.err)
				checkNoLeak(t, before)
			})
		}
	})
}

// TestInitParentDeath runs this test binary as a helper that spawns
// sleep with Init and a ParentDeathSignal, prints the init's and the
// program's PIDs and exits: both must die.
func TestInitParentDeath(t *testing.T) {
	if path := os.Getenv("NSGO_INIT_TEST_PDEATH"); path != "" {
		uidMap, gidMap := ownMaps()
		namespace.SetChildPath(path[1:])
		sig, _ := strconv.Atoi(os.Getenv("NSGO_INIT_TEST_SIG"))
		p, err := namespace.Spawn(namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "100"},
			New: namespace.User | namespace.PID, UIDMap: uidMap, GIDMap: gidMap, Init: true, ParentDeathSignal: syscall.Signal(sig)})
		if err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(1)
		}
		time.Sleep(50 * time.Millisecond)
		fmt.Printf("pid=%d prog=%v\n", p.Pid, childrenOf(p.Pid))
		os.Exit(0)
	}
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		for _, path := range []string{"", "copy"} {
			t.Run(sig.String()+"/"+path, func(t *testing.T) {
				skipOwnStackUnderRaceCover(t, path)
				cmd := exec.Command("/proc/self/exe", "-test.run=^TestInitParentDeath$")
				cmd.Env = append(os.Environ(), "NSGO_INIT_TEST_PDEATH=x"+path, fmt.Sprintf("NSGO_INIT_TEST_SIG=%d", sig))
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("helper: %v\n%s", err, out)
				}
				var pid, prog int
				if _, err := fmt.Sscanf(string(out), "pid=%d prog=[%d]", &pid, &prog); err != nil {
					t.Fatalf("helper printed %q", out)
				}
				for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
					s1, s2 := procState(pid), procState(prog)
					if (s1 == "" || s1 == "Z") && (s2 == "" || s2 == "Z") {
						return
					}
					if time.Since(start) > 3*time.Second {
						syscall.Kill(pid, syscall.SIGKILL)
						t.Fatalf("init %d (%q) or program %d (%q) outlived the process that spawned it by 3s", pid, s1, prog, s2)
					}
				}
			})
		}
	}
}
