package namespace_test

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// TestStress runs 10,000 operations (Spawn, Handle.Spawn and, as root, Do)
// from 100 goroutines at once, while others allocate hard with the garbage
// collector at GOGC=1 and storms of SIGCHLD and SIGINT hit the process. Every
// result is checked; nothing may deadlock, crash, or stay behind.
func TestStress(t *testing.T) {
	total := 10000
	if testing.Short() || raceEnabled {
		total = 1000
	}
	const workers = 100
	c := target(t)
	h, err := namespace.Join(c.p.Pid, namespace.All&^namespace.Time)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var utsOnly *namespace.Handle
	if privileged {
		if utsOnly, err = namespace.Join(c.p.Pid, namespace.UTS|namespace.Net); err != nil {
			t.Fatal(err)
		}
		defer utsOnly.Close()
		// Do opens a descriptor on the process's own namespace of each
		// kind it restores on first need, and keeps it: have them before
		// counting, as they are when earlier tests ran.
		if err := utsOnly.Do(func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	before := takeCounts(t)

	defer debug.SetGCPercent(debug.SetGCPercent(1))
	stop := make(chan struct{})
	var background sync.WaitGroup
	for range 2 {
		background.Go(func() {
			var keep [][]byte
			for {
				select {
				case <-stop:
					return
				default:
				}
				keep = append(keep, make([]byte, 64<<10))
				if len(keep) > 64 {
					keep = keep[:0]
				}
			}
		})
	}
	// Handlers, so that the storms neither kill the process nor pass
	// unnoticed: the runtime takes each signal on some thread, interrupting
	// whatever system call it is in.
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, syscall.SIGCHLD, os.Interrupt)
	defer signal.Stop(sigs)
	var sent atomic.Int64
	background.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-sigs:
			default:
				for _, sig := range []unix.Signal{unix.SIGCHLD, unix.SIGINT} {
					unix.Kill(os.Getpid(), sig)
					sent.Add(1)
				}
				time.Sleep(200 * time.Microsecond)
			}
		}
	})

	uidMap, gidMap := ownMaps()
	var done atomic.Int64
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range total / workers {
				var err error
				switch (w + i) % 3 {
				case 0: // a new container, checked by its exit status
					var p *namespace.Process
					p, err = namespace.Spawn(namespace.Options{
						Path: "/bin/sh", Args: []string{"sh", "-c", `[ "$(cat /proc/sys/kernel/hostname)" = "w` + fmt.Sprint(w) + `" ]`},
						// setgroups denied: see TestSpawnLoop.
						New: namespace.User | namespace.UTS, UIDMap: uidMap, GIDMap: gidMap, Hostname: fmt.Sprintf("w%d", w), SetGroups: idmap.Deny,
					})
					err = waitOK(p, err)
				case 1, 2:
					if utsOnly == nil || (w+i)%3 == 1 { // into the target; Do needs CAP_SYS_ADMIN
						var p *namespace.Process
						p, err = h.Spawn(namespace.Options{Path: "/bin/sh", Args: []string{"sh", "-c", `[ "$(cat /proc/sys/kernel/hostname)" = target ]`}})
						err = waitOK(p, err)
						break
					}
					err = utsOnly.Do(func() error {
						if got := hostname(); got != "target" {
							return fmt.Errorf("Do sees host name %q", got)
						}
						return nil
					})
				}
				if err != nil {
					errs <- fmt.Errorf("worker %d op %d: %w", w, i, err)
					return
				}
				done.Add(1)
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(5 * time.Minute):
		buf := make([]byte, 1<<20)
		t.Fatalf("no progress after %d operations; goroutines:\n%s", done.Load(), buf[:runtime.Stack(buf, true)])
	}
	close(stop)
	background.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d operations, %d signals sent", done.Load(), sent.Load())
	// The runtime grows its pool of threads with the system calls that block
	// at once, here up to one per worker, and keeps them; a thread lost per
	// operation would show as thousands.
	checkNoLeakThreads(t, before, workers+8)
	checkThreadsHome(t)
	if now, _ := os.ReadFile("/proc/self/mountinfo"); string(now) != string(mounts) {
		t.Error("mounts changed")
	}
}

func waitOK(p *namespace.Process, err error) error {
	if err != nil {
		return err
	}
	st, err := p.Wait()
	if err != nil {
		return err
	}
	if !st.Success() {
		return fmt.Errorf("program: %v", st)
	}
	return nil
}
