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
	discarded := 0 // the TID of a thread left to die
	run := func() {
		if fn() {
			runtime.UnlockOSThread()
		} else {
			discarded = unix.Gettid()
		}
	}
	go func() {
		defer close(done)
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			run()
			return
		}
		// This goroutine got the main thread: keep it there, so that a new
		// goroutine necessarily gets another thread, and let that one work.
		inner := make(chan struct{})
		go func() {
			defer close(inner)
			runtime.LockOSThread()
			run()
		}()
		<-inner
		runtime.UnlockOSThread()
	}()
	<-done
	if discarded != 0 {
		awaitThreadExit(discarded)
	}
}

// awaitThreadExit waits until thread tid of this process has exited, which
// the runtime does soon after a goroutine exits locked to it.
func awaitThreadExit(tid int) {
	path := "/proc/self/task/" + strconv.Itoa(tid)
	var st unix.Stat_t
	for delay := time.Microsecond; unix.Stat(path, &st) == nil; delay = min(2*delay, time.Millisecond) {
		time.Sleep(delay)
	}
}
