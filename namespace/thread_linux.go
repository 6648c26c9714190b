package namespace

import (
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// onOwnThread runs fn on a goroutine locked to an OS thread of its own that is
// not the process's main thread, and waits for it. If fn reports the thread
// unclean, the goroutine exits still locked and the runtime ends the thread,
// so a thread left in foreign namespaces never runs other goroutines. The
// main thread is avoided because /proc/PID shows its namespaces as the
// process's, and because the runtime cannot end it: a goroutine exiting
// locked to it leaves it wedged.
//
// onOwnThread returns only once a discarded thread is gone from
// /proc/self/task, so no thread of the caller's process is in a foreign
// namespace when it returns.
func onOwnThread(fn func() (clean bool)) {
	done := make(chan struct{})
	discarded := 0  // the TID of a thread left to die
	run := func() { // on a goroutine locked once to a thread not the main one
		defer close(done)
		if fn() {
			runtime.UnlockOSThread()
		} else {
			discarded = unix.Gettid()
		}
	}
	go func() {
		// A new goroutine mostly runs on the caller's thread, which waits.
		runtime.LockOSThread()
		if unix.Gettid() != mainTID {
			run()
			return
		}
		// This goroutine got the main thread: keep it there until the
		// worker has a thread of its own, which then cannot be the main
		// one. The worker releases the caller itself, so that the caller
		// goes on from the worker's thread and not the main one, and so
		// does not meet the main thread again in its next call.
		locked := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(locked)
			run()
		}()
		<-locked
		runtime.UnlockOSThread()
	}()
	<-done
	if discarded != 0 {
		awaitThreadExit(discarded)
	}
}

// mainTID is the process's main thread, whose TID is the PID.
var mainTID = unix.Getpid()

// awaitThreadExit waits until thread tid of this process has exited, which
// the runtime does soon after a goroutine exits locked to it.
func awaitThreadExit(tid int) {
	path := "/proc/self/task/" + strconv.Itoa(tid)
	var st unix.Stat_t
	for delay := time.Microsecond; unix.Stat(path, &st) == nil; delay = min(2*delay, time.Millisecond) {
		time.Sleep(delay)
	}
}
