package namespace

import (
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// spawnThread is an OS thread that nsgo never ends, from which Spawn and
// Handle.Spawn clone every program that has a ParentDeathSignal. The kernel
// sends that signal when the thread that cloned the program exits, not the
// process (prctl(2), PR_SET_PDEATHSIG), and the Go runtime ends a thread
// whenever a goroutine exits locked to it: nsgo's own Unshare and Do do that
// with a thread they cannot prove clean, and so may any other code. So a
// program cloned from an arbitrary goroutine's thread could be signalled
// while its parent process lives on. The thread of spawnThread is locked to
// one goroutine, serveSpawnThread, that lives as long as the process, runs
// nothing but spawns and never changes its namespaces; it is not the main
// thread (see onOwnThread).
var spawnThread struct {
	once  sync.Once
	calls chan func()
}

// onSpawnThread runs fn on spawnThread, starting it on first use, and waits
// for it. Calls are served one at a time.
func onSpawnThread(fn func()) {
	spawnThread.once.Do(startSpawnThread)
	done := make(chan struct{})
	spawnThread.calls <- func() { defer close(done); fn() }
	<-done
}

func startSpawnThread() {
	spawnThread.calls = make(chan func())
	ready := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() != mainTID {
			close(ready)
			serveSpawnThread()
		}
		// This goroutine got the main thread: a goroutine of its own
		// locks another thread (the main one is taken), then this one
		// gives the main thread back.
		go func() {
			runtime.LockOSThread()
			close(ready)
			serveSpawnThread()
		}()
		<-ready
		runtime.UnlockOSThread()
	}()
	<-ready
}

// serveSpawnThread runs the calls of onSpawnThread, forever.
func serveSpawnThread() {
	for fn := range spawnThread.calls {
		fn()
	}
}
