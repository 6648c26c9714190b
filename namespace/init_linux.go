package namespace

// The process steps of a sandbox: PID 1 as a reaper (Init), a wait before
// execve (BlockFD), the caller's hook after the clone (OnClone), and a
// second user namespace that disables more (DisableUserNamespaces): the
// parent's plan (planInit) and the child's steps.

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Steps of the init family, as reported through the error pipe.
const (
	stepInitFork uint32 = 220 + iota
)

// initPlan is what the child needs for these steps.
type initPlan struct {
	init       bool  // Init: fork the program and reap as PID 1
	blockFd    int   // BlockFD's descriptor, or -1
	blockByte  byte  // the child's: what it read from blockFd
	status     int32 // the init's: wait4's status
	programPid int   // the init's: the program's PID, in the namespace
	capHdr     unix.CapUserHeader
	noCaps     [2]unix.CapUserData // all zero: the init drops every capability
}

// planInit checks Init, BlockFD, OnClone and DisableUserNamespaces and
// fills the plan.
func (s *spawn) planInit() error {
	o, q := s.opts, &s.plan.init
	q.blockFd = -1
	if o.Init {
		if !o.New.Has(PID) {
			return fmt.Errorf("Init needs a new %s namespace (New has %s)", PID, o.New)
		}
		if o.Setctty || o.Foreground {
			return errors.New("Init with Setctty or Foreground: the program does not lead the session, the init does")
		}
		q.init = true
		q.capHdr.Version = unix.LINUX_CAPABILITY_VERSION_3
	}
	if f := o.BlockFD; f != nil {
		fd := int(f.Fd())
		if fd < 0 {
			return errors.New("BlockFD is closed")
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err != nil {
			return fmt.Errorf("BlockFD: %w", err)
		}
		q.blockFd = fd
		s.keepAlive = append(s.keepAlive, f)
	}
	if o.DisableUserNamespaces {
		return errors.New("DisableUserNamespaces: not implemented yet")
	}
	return nil
}

// childWaits reports whether the child must wait for the parent after the
// clone, or outlive the program's start, which a vfork child cannot: Init
// and OnClone.
func (s *spawn) childWaits() bool { return s.opts.Init || s.opts.OnClone != nil }

// initStepName names a step of the init family, or returns "".
func (s *spawn) initStepName(step, idx uint32) string {
	switch step {
	case stepInitFork:
		return "Init: fork the program"
	}
	return ""
}

// runningInits holds the spawns whose init runs in this process's memory
// (on a stack of its own, or reading its plan) until Process.Wait has
// reaped it: the garbage collector must not free what it uses, even if
// the Process is dropped without Wait.
var runningInits sync.Map // *spawn -> the stack, or nil

// keepForInit keeps s, and stack if not nil, until the init is reaped; the
// returned function releases them.
func keepForInit(s *spawn, stack *childStack) func() {
	runningInits.Store(s, stack)
	return func() {
		runningInits.Delete(s)
		if stack != nil {
			stackPool.Put(stack)
		}
	}
}

// childInit, with Init, forks the program's process, which returns to run
// the remaining steps, and stays as PID 1: it drops every descriptor,
// reaps every child, and exits with the program's status once the program
// exits. The fork copies the memory (no CLONE_VM): a vfork child would run
// on this stack, over the frames the init returns to.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childInit(p *childPlan) {
	if !p.init.init {
		return
	}
	var r uintptr
	var e syscall.Errno
	if cloneFirstArgs {
		r, _, e = syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	} else {
		r, _, e = syscall.RawSyscall6(syscall.SYS_CLONE, 0, uintptr(syscall.SIGCHLD), 0, 0, 0, 0)
	}
	if e != 0 {
		childFail(p, stepInitFork, e)
	}
	if r == 0 {
		return // the program's process
	}
	p.init.programPid = int(r)
	childInitLoop(p)
}

// childInitLoop is the init once the program is forked: it keeps the
// parent-death signal, drops its capabilities (as bwrap's PID 1 does),
// closes every descriptor (the error pipe's too, so that the parent reads
// end-of-file once the program runs), and reaps.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childInitLoop(p *childPlan) {
	q := &p.init
	if p.pdeathsig != 0 {
		syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, p.pdeathsig, 0, 0, 0, 0)
	}
	syscall.RawSyscall6(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&q.capHdr)), uintptr(unsafe.Pointer(&q.noCaps[0])), 0, 0, 0, 0)
	if _, _, e := syscall.RawSyscall6(unix.SYS_CLOSE_RANGE, 0, ^uintptr(0), 0, 0, 0, 0); e != 0 {
		syscall.RawSyscall6(syscall.SYS_CLOSE, uintptr(p.errFd), 0, 0, 0, 0, 0)
	}
	for {
		r, _, e := syscall.RawSyscall6(syscall.SYS_WAIT4, ^uintptr(0), uintptr(unsafe.Pointer(&q.status)), 0, 0, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			childExit(1) // no child left: cannot be, the program is one
		}
		if int(r) == q.programPid {
			st := uintptr(q.status)
			if st&0x7f == 0 {
				childExit(st >> 8 & 0xff) // exited
			}
			childExit(128 + st&0x7f) // killed: 128 plus the signal, as bwrap and shells say
		}
	}
}

// childBlock, with BlockFD, waits until it has data or is at end-of-file,
// reading one byte, as bwrap's --block-fd does.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childBlock(p *childPlan) {
	q := &p.init
	if q.blockFd < 0 {
		return
	}
	for {
		if _, _, e := syscall.RawSyscall6(syscall.SYS_READ, uintptr(q.blockFd), uintptr(unsafe.Pointer(&q.blockByte)), 1, 0, 0, 0); e != syscall.EINTR {
			return
		}
	}
}
