package namespace_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
)

// TestReforkChildKilled kills, on every child path, the child that forks
// the program's process into a PID namespace right after the fork, before
// it could report anything: Spawn must still return the process that runs
// the program, whose exit status Wait gives, and leave nothing behind.
func TestReforkChildKilled(t *testing.T) {
	tpid := unshareTarget(t)
	defer namespace.SetKillAfterRefork(namespace.SetKillAfterRefork(true))
	kinds := namespace.PID | namespace.User
	for _, path := range namespace.ChildPaths {
		t.Run(path, func(t *testing.T) {
			skipOwnStackUnderRaceCover(t, path)
			defer namespace.SetChildPath(namespace.SetChildPath(path))
			h, err := namespace.Join(tpid, kinds)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			before := takeCounts(t)
			var out strings.Builder
			marker := fmt.Sprintf("refork-%s-%d", strings.ReplaceAll(path, " ", "-"), os.Getpid())
			p, err := h.Spawn(namespace.Options{Path: "/bin/sh", Args: []string{"sh", "-c", "echo $$; exit 9", marker},
				Stdout: &out, Stderr: &out})
			if err != nil {
				t.Fatal(err)
			}
			// The program's process, seen from outside: in the target's
			// PID namespace and running sh with the marker.
			ns, err := procfs.Namespaces(p.Pid)
			if err == nil {
				want, _ := procfs.Namespaces(tpid)
				if ns[namespace.PID] != want[namespace.PID] {
					t.Errorf("pid %d is in PID namespace %v, not the target's %v", p.Pid, ns[namespace.PID], want[namespace.PID])
				}
			}
			done := make(chan struct{})
			var st *os.ProcessState
			go func() { st, err = p.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				p.Kill()
				<-done
				t.Fatal("Wait did not return within 20s")
			}
			if err != nil || st.ExitCode() != 9 {
				t.Errorf("wait: %v %v, want exit status 9", st, err)
			}
			if got := strings.TrimSpace(out.String()); got == "" || got == "1" {
				t.Errorf("the program printed %q: want its PID inside the target, above 1", got)
			}
			checkNoLeak(t, before)
		})
	}
}
