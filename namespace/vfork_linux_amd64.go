package namespace

import (
	"syscall"
	"unsafe"
)

// haveVfork says whether this architecture has rawVforkClone.
const haveVfork = true

// rawVforkClone is clone(2) or clone3(2) with the caller's stack, for
// CLONE_VM|CLONE_VFORK; see vfork_linux_amd64.s.
//
//go:noescape
func rawVforkClone(trap, a1, a2, a3 uintptr) (pid, errno uintptr)

// rawVforkRefork is clone(2) with CLONE_VM|CLONE_VFORK and the caller's
// stack, for a child that forks the program's process: it returns only in
// that process, or with the error; see vfork_linux_amd64.s.
//
//go:noescape
func rawVforkRefork(flags, ptid, kill uintptr) (errno uintptr)

// rawVforkInit is clone(2) with CLONE_VM|CLONE_VFORK and the caller's
// stack, for the init that forks the program's process: it returns only in
// that process, or with the error; the init goes on in fn(p, pid) on
// stackTop. See vfork_linux_amd64.s.
//
//go:noescape
func rawVforkInit(flags uintptr, p unsafe.Pointer, stackTop uintptr, fn unsafe.Pointer) (errno uintptr)

// rawCloneOwnStack is clone(2) or clone3(2) with CLONE_VM and a stack of the
// child's own, whose child calls fn(arg); see vfork_linux_amd64.s.
//
//go:noescape
func rawCloneOwnStack(trap, a1, a2 uintptr, fn, arg unsafe.Pointer) (pid, errno uintptr)

// childOwnStack is where a child cloned by rawCloneOwnStack starts, on its
// own stack, while the parent goes on. It starts with every signal blocked
// and the parent's handlers, and must not call runtime_AfterForkInChild as
// the other children do: that hook assumes the parent is suspended. The hook
// sets a runtime global that other children and the parent read, and reads
// the state of whatever goroutine the parent's thread runs at that moment,
// through the thread's TLS, which that goroutine may leave, and the thread
// may end, at any time. So this child restores the mask itself, and resets
// the handlers if it must, by raw system calls on its own memory only.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childOwnStack(p *childPlan) {
	if !p.sighandCleared {
		// A handler of the parent's, run here, would run Go code on the
		// parent's memory without a goroutine of its own: set every signal
		// back to the default before any can be delivered, one system call
		// each, and put back those that were ignored, which stay ignored,
		// as across execve. Every signal is blocked meanwhile. (clone3 with
		// CLONE_CLEAR_SIGHAND, Linux 5.5, did all this already.)
		old, dfl, ign := &p.sigact[0], &p.sigact[1], &p.sigact[2]
		*dfl = kernelSigaction{}
		*ign = kernelSigaction{handler: sigIgn}
		for sig := uintptr(1); sig <= 64; sig++ {
			if sig == uintptr(syscall.SIGKILL) || sig == uintptr(syscall.SIGSTOP) {
				continue
			}
			_, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(dfl)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
			if e == 0 && old.handler == sigIgn {
				syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(ign)), 0, 8, 0, 0)
			}
		}
	}
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, 2 /* SIG_SETMASK */, uintptr(unsafe.Pointer(&p.sigmask)), 0, 8, 0, 0)
	childMain(p)
}

const sigIgn = 1

// childOwnStackFn is childOwnStack's func value, which rawCloneOwnStack
// calls by the register ABI.
var childOwnStackFn = func() unsafe.Pointer {
	f := childOwnStack
	return *(*unsafe.Pointer)(unsafe.Pointer(&f))
}()

// childInitEntryFn is childInitEntry's func value, which rawVforkInit calls
// by the register ABI.
var childInitEntryFn = func() unsafe.Pointer {
	f := childInitEntry
	return *(*unsafe.Pointer)(unsafe.Pointer(&f))
}()
