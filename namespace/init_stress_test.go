package namespace_test

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/nsgo/nsgo/namespace"
)

// TestInitStress: many Init spawns at once from many goroutines,
// succeeding and failing (a missing Dir, a missing program), with extra
// files, on each path that can run Init; every program runs as PID 2 in a
// PID namespace of its own, with the right status, and nothing leaks.
func TestInitStress(t *testing.T) {
	uidMap, gidMap := ownMaps()
	n := 200
	if testing.Short() {
		n = 40
	}
	for _, path := range []string{"", "copy"} {
		t.Run("path="+path, func(t *testing.T) {
			skipOwnStackUnderRaceCover(t, path)
			defer namespace.SetChildPath(namespace.SetChildPath(path))
			before := takeCounts(t)
			var wg sync.WaitGroup
			errs := make(chan error, n)
			const G = 16
			for g := range G {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range n / G {
						var out strings.Builder
						code := (g*31 + i) % 200
						opts := namespace.Options{Path: "/bin/sh", Args: []string{"sh", "-c", fmt.Sprintf("echo $$; exit %d", code)},
							New: namespace.User | namespace.PID, UIDMap: uidMap, GIDMap: gidMap, Init: true, Stdout: &out,
							ExtraFiles: []*os.File{os.Stdin, nil, os.Stderr}}
						switch i % 5 {
						case 1:
							opts.Dir = "/nsgo-no-such"
						case 2:
							opts.Path = "/nsgo-no-such"
						case 3:
							opts.Setsid = true
						}
						p, err := namespace.Spawn(opts)
						if i%5 == 1 || i%5 == 2 {
							if err == nil {
								p.Wait()
								errs <- fmt.Errorf("spawn %d worked", i)
							} else if !strings.Contains(err.Error(), "chdir") && !strings.Contains(err.Error(), "execve") {
								errs <- err
							}
							continue
						}
						if err != nil {
							errs <- err
							continue
						}
						st, err := p.Wait()
						if err != nil || st.ExitCode() != code || out.String() != "2\n" {
							errs <- fmt.Errorf("%v %v, output %q; want %d and 2", st, err, out.String(), code)
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			k := 0
			for err := range errs {
				if k++; k < 10 {
					t.Error(err)
				}
			}
			checkNoLeakThreads(t, before, 20)
		})
	}
}

// TestInitZombies: the init reaps processes the program leaves
// behind (orphans reparented to it) and exits with the program's status
// once it exits, killing what is left; nothing outlives Wait.
func TestInitZombies(t *testing.T) {
	uidMap, gidMap := ownMaps()
	eachPath(t, func(t *testing.T) {
		before := takeCounts(t)
		var out strings.Builder
		p, err := namespace.Spawn(namespace.Options{Path: "/bin/sh",
			Args: []string{"sh", "-c", "for i in 1 2 3 4 5; do (sleep 0.05 &) ; done; sleep 1000 & sleep 0.3; echo $$; exit 9"},
			New:  namespace.User | namespace.PID | namespace.Mount, MountProc: true, UIDMap: uidMap, GIDMap: gidMap, Init: true, Stdout: &out})
		if err != nil {
			if strings.Contains(err.Error(), ": test: ") {
				t.Skip(err)
			}
			t.Fatal(err)
		}
		ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", p.Pid))
		st, err := p.Wait()
		if err != nil || st.ExitCode() != 9 || out.String() != "2\n" {
			t.Errorf("%v %v %q", st, err, out.String())
		}
		// Nothing left in that PID namespace.
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			if l, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && l == ns {
				st := procState(atoi(e.Name()))
				if st != "" && st != "Z" {
					t.Errorf("process %s left in %s", e.Name(), ns)
				}
			}
		}
		checkNoLeak(t, before)
	})
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}
