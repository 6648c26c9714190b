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
	stepInitFork        uint32 = 220 + iota
	stepUserNSProc             // open /proc
	stepUserNSMax              // write user.max_user_namespaces
	stepUserNSUnshare          // unshare the second user namespace
	stepUserNSSetgroups        // deny setgroups in it
	stepUserNSUIDMap           // write its uid_map
	stepUserNSGIDMap           // write its gid_map
	stepUserNSBound            // drop again what the bounding set had lost
	stepUserNSStill            // a third user namespace could still be made
	stepUserNSRequire          // RequireUserNamespacesDisabled: a user namespace could be made
)

// initPlan is what the child needs for these steps.
type initPlan struct {
	init       bool  // Init: fork the program and reap as PID 1
	blockFd    int   // BlockFD's descriptor, or -1
	blockByte  byte  // the child's: what it read from blockFd
	status     int32 // the init's: wait4's status
	programPid int   // the init's: the program's PID, in the namespace
	errFd      int   // the init's: the error pipe, as the init has it (the program's process moves its own)
	undumpable bool  // make the init's copy of the caller not dumpable (the caller has CAP_SYS_PTRACE)
	capHdr     unix.CapUserHeader
	noCaps     [2]unix.CapUserData // all zero: the init drops every capability

	// DisableUserNamespaces: the maps of the second user namespace (the
	// program's own IDs), and /proc, opened by the child before the
	// mounts, through which it writes them after.
	disableUserNS bool
	requireNoUser bool // RequireUserNamespacesDisabled, without DisableUserNamespaces
	nestUIDMap    []byte
	nestGIDMap    []byte
	procFd        int

	// The init's stack once the program's process has exec'd, when the
	// init forks it with CLONE_VM|CLONE_VFORK: the program's process
	// runs on the init's stack until then. childInitLoop and what it
	// calls are nosplit, a few hundred bytes at most.
	stack [4 << 10]byte
}

// Strings of DisableUserNamespaces' steps, relative to /proc.
var (
	strMaxUserNS     = []byte("sys/user/max_user_namespaces\x00")
	strOne           = []byte("1")
	strNestSetgroups = []byte("self/setgroups\x00")
	strNestUIDMap    = []byte("self/uid_map\x00")
	strNestGIDMap    = []byte("self/gid_map\x00")
)

// planInit checks Init, BlockFD, OnClone and DisableUserNamespaces and
// fills the plan.
func (s *spawn) planInit() error {
	o, q := s.opts, &s.plan.init
	q.blockFd = -1
	if o.Init {
		if !o.New.Has(PID) {
			return fmt.Errorf("%s needs a new %s namespace (New has %s)", "Init", PID, o.New)
		}
		if o.Setctty || o.Foreground {
			return fmt.Errorf("%s with Setctty or Foreground: the program does not lead the session, the init does", "Init")
		}
		q.init = true
		q.capHdr.Version = unix.LINUX_CAPABILITY_VERSION_3
		// The init is a copy of the caller's memory, and the program
		// may run as the init's host user: made not dumpable, /proc/1/mem
		// and ptrace need CAP_SYS_PTRACE where the caller runs, which
		// the program has not. A caller without it would lose its own
		// access to the init's /proc/PID (its namespaces) too, so the
		// init stays dumpable then (see Options.Init).
		if c, err := readCallerSets(); err == nil && c.effective.Has(Cap(unix.CAP_SYS_PTRACE)) {
			q.undumpable = true
		}
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
		p := &s.plan
		if !o.New.Has(User) {
			return fmt.Errorf("DisableUserNamespaces needs a new %s namespace (New has %s)", User, o.New)
		}
		if o.UIDMap == nil || o.GIDMap == nil || !p.setUID || !p.setGID {
			return errors.New("DisableUserNamespaces needs UIDMap and GIDMap: the second user namespace maps the program's own IDs")
		}
		q.disableUserNS = true
		q.nestUIDMap = fmt.Appendf(nil, "%d %d 1\n", p.uid, p.uid)
		q.nestGIDMap = fmt.Appendf(nil, "%d %d 1\n", p.gid, p.gid)
	}
	q.requireNoUser = o.RequireUserNamespacesDisabled && !o.DisableUserNamespaces
	return nil
}

// childWaits reports whether the child must wait for the parent after the
// clone, or for anyone, or outlive the program's start, which a vfork child
// cannot: Init, OnClone and BlockFD. A vfork child holds the caller's
// thread in clone(2), and with it the thread's P and syscall.ForkLock, until
// it execs: data for BlockFD from a goroutine of the caller would never
// come under GOMAXPROCS=1 (TestBlockFDOneP), nor from anything that starts
// a process.
func (s *spawn) childWaits() bool {
	return s.opts.Init || s.opts.OnClone != nil || s.opts.BlockFD != nil
}

// initStepName names a step of the init family, or returns "".
func (s *spawn) initStepName(step, idx uint32) string {
	switch step {
	case stepInitFork:
		return "Init: fork the program"
	case stepUserNSProc:
		return "DisableUserNamespaces: open /proc on procfs"
	case stepUserNSMax:
		return "DisableUserNamespaces: write 1 to /proc/sys/user/max_user_namespaces"
	case stepUserNSUnshare:
		return "DisableUserNamespaces: unshare the second user namespace"
	case stepUserNSSetgroups:
		return "DisableUserNamespaces: write deny to /proc/self/setgroups"
	case stepUserNSUIDMap:
		return fmt.Sprintf("DisableUserNamespaces: write /proc/self/uid_map %q", s.plan.init.nestUIDMap)
	case stepUserNSGIDMap:
		return fmt.Sprintf("DisableUserNamespaces: write /proc/self/gid_map %q", s.plan.init.nestGIDMap)
	case stepUserNSBound:
		return "DisableUserNamespaces: drop " + Cap(idx).String() + " from the bounding set again"
	case stepUserNSStill:
		return "DisableUserNamespaces: a user namespace could still be created"
	case stepUserNSRequire:
		return "RequireUserNamespacesDisabled: a user namespace could be created"
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
// exits.
//
// Where there is rawVforkInit (amd64), the fork shares the memory
// (CLONE_VM|CLONE_VFORK): the program's process runs on, over, the init's
// stack while the init sleeps, and the init goes on, on a stack of its own,
// once that process has exec'd or exited. The init is a copy of the caller
// (choosePath), so this saves a second copy of its page tables. Not in a
// race build: there the compiler's coverage counters in childInitLoop call
// the race runtime, which needs the goroutine that the init, started by
// rawVforkInit, does not have. Not with DisableUserNamespaces, whose
// process makes its memory dumpable. Elsewhere the init forks a copy,
// which returns here while the init goes on.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childInit(p *childPlan) {
	q := &p.init
	if !q.init {
		return
	}
	q.errFd = p.errFd
	if p.pdeathsig != 0 {
		// The init's, from before the fork (with CLONE_VFORK it would
		// otherwise come only after the program's execve), and SIGKILL
		// whatever the program's: a PID namespace's init without a
		// handler ignores every other signal, and outlived the caller.
		syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0, 0)
	}
	if q.undumpable {
		syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 0, 0, 0, 0, 0)
	}
	// DisableUserNamespaces' process makes itself dumpable to write its
	// maps: in a memory of its own.
	if childInitEntryFn != nil && !raceBuild && !q.disableUserNS {
		top := (uintptr(unsafe.Pointer(&q.stack[0])) + uintptr(len(q.stack))) &^ 15
		if e := rawVforkInit(unix.CLONE_VM|unix.CLONE_VFORK|uintptr(syscall.SIGCHLD), unsafe.Pointer(p), top, childInitEntryFn); e != 0 {
			childFail(p, stepInitFork, syscall.Errno(e))
		}
		return // the program's process
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
	childInitEntry(p, r)
}

// childInitEntry is the init once the program's process is forked, with
// its PID: after rawVforkInit, on the init's own stack.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childInitEntry(p *childPlan, pid uintptr) {
	p.init.programPid = int(pid)
	childInitLoop(p)
}

// childInitLoop is the init once the program is forked (its parent-death
// signal set by childInit, before the fork): it drops its capabilities (as
// bwrap's PID 1 does), closes every descriptor (the error pipe's too, so
// that the parent reads end-of-file once the program runs), and reaps.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childInitLoop(p *childPlan) {
	q := &p.init
	syscall.RawSyscall6(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&q.capHdr)), uintptr(unsafe.Pointer(&q.noCaps[0])), 0, 0, 0, 0)
	if _, _, e := syscall.RawSyscall6(unix.SYS_CLOSE_RANGE, 0, ^uintptr(0), 0, 0, 0, 0); e != 0 {
		syscall.RawSyscall6(syscall.SYS_CLOSE, uintptr(q.errFd), 0, 0, 0, 0, 0)
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

// childUserNSLimit, with DisableUserNamespaces, sets user.max_user_namespaces
// of the new user namespace to 1, while the child holds CAP_SYS_RESOURCE
// there, and opens /proc for childNestUser: both before the mounts, in the
// caller's view of /proc.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childUserNSLimit(p *childPlan) {
	q := &p.init
	if !q.disableUserNS {
		return
	}
	fd, e := childOpenProcDir(p)
	if e != 0 {
		childFail(p, stepUserNSProc, e)
	}
	q.procFd = int(fd)
	if e = childWriteAt(fd, &strMaxUserNS[0], &strOne[0], len(strOne)); e != 0 {
		childFail(p, stepUserNSMax, e)
	}
}

// childNestUser, with DisableUserNamespaces, once the credentials are the
// program's: creates the second user namespace, which counts against the
// first's limit of 1, maps the program's own IDs in it (as its creator
// may, from inside), drops again from the bounding set what childBounding
// dropped (a new user namespace gives the full set back), and checks that
// no other user namespace can be made. With RequireUserNamespacesDisabled
// alone it only checks that.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childNestUser(p *childPlan) {
	q := &p.init
	if q.requireNoUser {
		if _, _, e := syscall.RawSyscall6(syscall.SYS_UNSHARE, unix.CLONE_NEWUSER, 0, 0, 0, 0, 0); e == 0 {
			childFail(p, stepUserNSRequire, syscall.EEXIST)
		}
	}
	if !q.disableUserNS {
		return
	}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_UNSHARE, unix.CLONE_NEWUSER, 0, 0, 0, 0, 0); e != 0 {
		childFail(p, stepUserNSUnshare, e)
	}
	// A change of credentials made the child not dumpable, and its /proc
	// files root's, which the second namespace does not map: set it back,
	// as bwrap does; execve decides again for the program.
	syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 1, 0, 0, 0, 0)
	proc := uintptr(q.procFd)
	if e := childWriteAt(proc, &strNestSetgroups[0], &strDeny[0], len(strDeny)); e != 0 {
		childFail(p, stepUserNSSetgroups, e)
	}
	if e := childWriteAt(proc, &strNestUIDMap[0], &q.nestUIDMap[0], len(q.nestUIDMap)); e != 0 {
		childFail(p, stepUserNSUIDMap, e)
	}
	if e := childWriteAt(proc, &strNestGIDMap[0], &q.nestGIDMap[0], len(q.nestGIDMap)); e != 0 {
		childFail(p, stepUserNSGIDMap, e)
	}
	syscall.RawSyscall6(syscall.SYS_CLOSE, proc, 0, 0, 0, 0, 0)
	childRlimitsPass(p, true) // RLIMIT_NOFILE, which childRlimits left
	if c := &p.priv; c.caps {
		for cp := uintptr(0); cp <= c.lastCap; cp++ {
			if c.boundKept&(1<<cp) == 0 {
				if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, cp, 0, 0, 0, 0); e != 0 {
					childFailAt(p, stepUserNSBound, uint32(cp), e)
				}
			}
		}
	}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_UNSHARE, unix.CLONE_NEWUSER, 0, 0, 0, 0, 0); e == 0 {
		childFail(p, stepUserNSStill, syscall.EEXIST)
	}
}
