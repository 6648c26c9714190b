package namespace_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
)

// contextSpawners are the two SpawnContexts: the package's, and a handle's
// (on the caller's own namespaces, which every caller may take).
func contextSpawners(t *testing.T) map[string]func(context.Context, namespace.Options) (*namespace.Process, error) {
	h, err := namespace.Current(namespace.UTS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return map[string]func(context.Context, namespace.Options) (*namespace.Process, error){
		"SpawnContext": namespace.SpawnContext, "Handle.SpawnContext": h.SpawnContext,
	}
}

// TestSpawnContextCancel cancels the context of a running program, on every
// child path and in new namespaces or none: the program is killed, and
// Wait says so, as exec.CommandContext's Wait does.
func TestSpawnContextCancel(t *testing.T) {
	uid, gid := ownMaps()
	for name, spawn := range contextSpawners(t) {
		for _, path := range namespace.ChildPaths {
			if noOwnStack(path) {
				continue
			}
			for _, newNS := range []bool{false, true} {
				before := takeCounts(t)
				old := namespace.SetChildPath(path)
				o := namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "100"}}
				if newNS && name == "SpawnContext" {
					o.New, o.UIDMap, o.GIDMap, o.SetGroups = namespace.User|namespace.PID, uid, gid, idmap.Deny
				}
				ctx, cancel := context.WithCancel(context.Background())
				p, err := spawn(ctx, o)
				namespace.SetChildPath(old)
				if err != nil && strings.Contains(err.Error(), "test: ") {
					cancel()
					continue
				}
				if err != nil {
					cancel()
					t.Fatalf("%s, %s: %v", name, path, err)
				}
				time.Sleep(10 * time.Millisecond)
				if _, err := os.Stat("/proc/" + strconv.Itoa(p.Pid)); err != nil {
					t.Errorf("%s, %s: the program is not running before the cancel: %v", name, path, err)
				}
				start := time.Now()
				cancel()
				st, err := waitWithin(p, 10*time.Second)
				if err != nil || st.String() != "signal: killed" || time.Since(start) > 5*time.Second {
					t.Errorf("%s, %s (new namespaces %v): Wait %v, %v after %v; want signal: killed", name, path, newNS, st, err, time.Since(start))
				}
				checkNoLeak(t, before)
			}
		}
	}
}

// TestSpawnContextDeadline lets a deadline pass while the program runs:
// it is killed then, not before.
func TestSpawnContextDeadline(t *testing.T) {
	for name, spawn := range contextSpawners(t) {
		before := takeCounts(t)
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		p, err := spawn(ctx, namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "100"}})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		st, err := waitWithin(p, 10*time.Second)
		took := time.Since(start)
		cancel()
		if err != nil || st.String() != "signal: killed" || took < 300*time.Millisecond || took > 10*time.Second {
			t.Errorf("%s: Wait %v, %v after %v; want signal: killed after 300ms", name, st, err, took)
		}
		checkNoLeak(t, before)
	}
}

// TestSpawnContextDone gives a context that is done already, by a cancel or
// a deadline: nothing starts (the program would leave a file), the error
// wraps the context's, and nothing is left.
func TestSpawnContextDone(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for name, spawn := range contextSpawners(t) {
		for _, c := range []struct {
			ctx  context.Context
			want error
		}{{canceled, context.Canceled}, {expired, context.DeadlineExceeded}} {
			before := takeCounts(t)
			p, err := spawn(c.ctx, namespace.Options{Path: "/bin/touch", Args: []string{"touch", marker}})
			if err == nil {
				p.Wait()
				t.Errorf("%s: started with a done context", name)
			} else if !errors.Is(err, c.want) || err.Error() != "spawn /bin/touch: "+c.want.Error() {
				t.Errorf("%s: error %q, want spawn /bin/touch: %v", name, err, c.want)
			}
			time.Sleep(20 * time.Millisecond)
			if _, err := os.Stat(marker); err == nil {
				t.Errorf("%s: the program ran", name)
				os.Remove(marker)
			}
			checkNoLeak(t, before)
		}
	}
}

// TestSpawnContextExits lets the program exit before the context is done:
// its status is its own, and a cancel afterwards does nothing (the watch
// ended with Wait: no goroutine is left, as goleak checks at the end).
func TestSpawnContextExits(t *testing.T) {
	for name, spawn := range contextSpawners(t) {
		before := takeCounts(t)
		ctx, cancel := context.WithCancel(context.Background())
		p, err := spawn(ctx, namespace.Options{Path: "/bin/sh", Args: []string{"sh", "-c", "exit 3"}})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		st, err := p.Wait()
		cancel()
		if err != nil || st.ExitCode() != 3 {
			t.Errorf("%s: Wait %v, %v; want exit status 3", name, st, err)
		}
		if err := p.Kill(); !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("%s: Kill after Wait: %v", name, err)
		}
		checkNoLeak(t, before)
	}
	// A context that can never be done takes nothing.
	st, err := namespace.SpawnContext(context.Background(), namespace.Options{Path: "/bin/true"})
	if err == nil {
		_, err = st.Wait()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestSpawnContextBadOptions: an invalid option is the same error as from
// Spawn, whatever the context.
func TestSpawnContextBadOptions(t *testing.T) {
	_, err := namespace.SpawnContext(context.Background(), namespace.Options{})
	_, want := namespace.Spawn(namespace.Options{})
	if err == nil || want == nil || err.Error() != want.Error() {
		t.Errorf("error %v, want %v", err, want)
	}
	defer func() {
		if recover() == nil {
			t.Error("a nil Context did not panic")
		}
	}()
	//lint:ignore SA1012 the panic is what is tested
	namespace.SpawnContext(nil, namespace.Options{Path: "/bin/true"}) //nolint:staticcheck
}

// waitWithin waits for p, and kills it if it has not exited within d: that
// is an error then.
func waitWithin(p *namespace.Process, d time.Duration) (*os.ProcessState, error) {
	done := make(chan struct{})
	var st *os.ProcessState
	var err error
	go func() { st, err = p.Wait(); close(done) }()
	select {
	case <-done:
		return st, err
	case <-time.After(d):
		p.Kill()
		<-done
		return st, fmt.Errorf("still running after %v (%v, %v)", d, st, err)
	}
}
