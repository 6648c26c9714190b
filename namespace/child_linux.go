package namespace

// The child between clone(2) and execve(2).
//
// forkExec clones the calling thread, without CLONE_VM (the child gets a
// copy-on-write image of the Go process in which only the cloning thread
// exists) or with it (the child runs in the process's memory, on the cloning
// thread's stack while that thread sleeps, as vfork does, or on a stack of
// its own). That child must not run Go code that could allocate, take a
// lock, grow the stack, write a pointer (write barriers) or call the race
// detector, so everything the child does is in functions marked go:nosplit
// and go:norace that make raw system calls, reading a childPlan that the
// parent filled before the clone. The runtime's own fork hooks, which os/exec
// uses for the same purpose, block signals around the clone and reset the
// child's signal handlers. A child made by clone3 with CLONE_CLEAR_SIGHAND
// has its handlers reset by the kernel and restores only the mask (see
// forkExec); a child on its own stack, whose parent runs on meanwhile,
// never calls the hook (see childOwnStack).
//
// The child reports a failure by writing its step and errno to a
// close-on-exec pipe and exiting; a successful execve closes the pipe, so the
// parent reads end-of-file.

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

//go:linkname runtime_BeforeFork syscall.runtime_BeforeFork
func runtime_BeforeFork()

//go:linkname runtime_AfterFork syscall.runtime_AfterFork
func runtime_AfterFork()

//go:linkname runtime_AfterForkInChild syscall.runtime_AfterForkInChild
func runtime_AfterForkInChild()

// Steps of the child, as reported through the error pipe.
const (
	stepNone uint32 = iota
	stepPdeathsig
	stepSethostname
	stepSetdomainname
	stepUnshareTime
	stepOpenTimens
	stepWriteTimens
	stepOpenTimeNS
	stepSetnsTime
	stepOpenProc
	stepSetgroups
	stepSetgid
	stepSetuid
	stepChdir
	stepDupFd
	stepExec
	stepSetnsUser
	stepUnshare
	stepRefork
	stepPidfdMoved // the pidfd's process is no longer in the handle's namespaces
	stepSelfSetgroups
	stepSelfUIDMap
	stepSelfGIDMap
	stepReforkUnsharePID // the new PID namespace inside a joined one
	stepReady            // not a failure: the program's process waits for OnClone (Handle.Spawn)
	stepSetns            // stepSetns+i: entering plan.joinFds[i]; keep last
	// The sandbox families number their steps from 100 (mounts), 150
	// (terminal), 170 (privileges), 200 (cgroup), 210 (net) and 220
	// (init), in their files.
)

// childPlan is everything the child needs, prepared by the parent. The child
// reads it and writes only scalars (report, syncByte, statfs, the elements of
// fds): in its own copy of the memory, or with vfork or stackTop in the
// parent's, which leaves those fields alone until the child is past execve.
type childPlan struct {
	cloneFlags uintptr
	// stackTop, if set, clones with CLONE_VM alone: the child runs in the
	// parent's memory on a stack of its own, the top of stack, while the
	// parent goes on, writes its ID maps and releases it. It copies no
	// page tables; the stack is the parent's until the child execs or exits.
	stackTop uintptr
	stackLo  uintptr // the stack's lowest address, for clone3
	// sighandCleared says that clone3 with CLONE_CLEAR_SIGHAND made the
	// child, whose signal handlers are the defaults already.
	sighandCleared bool
	// vfork clones with CLONE_VM|CLONE_VFORK: the child shares the parent's
	// memory and runs on its stack while the parent thread sleeps until the
	// execve, as os/exec does; it copies no page tables. Only for a child
	// that waits for nothing from the parent. A child that forks the
	// program's process (refork) wakes the parent when it exits, right
	// after. Neither this nor stackTop is for a child that enters a time
	// namespace: setns and unshare of time refuse a task that shares its
	// memory.
	vfork bool
	// selfUIDMap and selfGIDMap, if not empty, are maps that the child
	// writes itself, first of all, as unshare -r does: each one line that
	// maps the caller's own ID, which the creator of a user namespace may
	// write from inside it (with setgroups denied first for the gid map, if
	// selfDenySetgroups). Under the race detector only, where a vfork child
	// must wait for nothing from the parent (see choosePath).
	selfUIDMap, selfGIDMap []byte
	selfDenySetgroups      bool

	path *byte
	argv **byte // nil-terminated
	envv **byte // nil-terminated
	dir  *byte  // nil: stay
	// dirFallbacks are tried in order when dir fails; fallbackEnvs, if
	// not nil, has the environment for each (PWD changed).
	dirFallbacks []*byte
	fallbackEnvs []**byte
	dirEntered   int // the child's: 1 + the index of the fallback entered, or 0

	errFd       int // write end of the error pipe
	syncFd      int // read end of the pipe the parent releases the child with; -1: none
	syncWriteFd int // its write end, which the child closes

	// fds[i] is the caller's descriptor that becomes the program's
	// descriptor i; -1 closes it. The child rewrites the slice.
	fds []int

	// Namespaces to enter (Handle.Spawn): joinFds[i] is a namespace of kind
	// joinTypes[i]; joinUser a user namespace, or -1. Then unshareFlags are
	// created, and with refork the child forks the program's process.
	joinFds      []int
	joinTypes    []uintptr
	joinUser     int
	unshareFlags uintptr
	refork       bool

	// joinPidfd, if not -1, is a pidfd of the process whose namespaces the
	// handle pinned: the child first enters joinPidfdFlags through it in one
	// setns (Linux 5.8), where the kernel checks the rights for every
	// namespace at once (what a nested user namespace needs), then checks
	// each namespace against joinIno, through nsDir, /proc/thread-self/ns
	// opened before. Any failure of that setns falls back to the
	// descriptors, kind by kind; a process found in other namespaces than
	// the pinned ones is stepPidfdMoved, and the parent tries again without
	// the pidfd.
	joinPidfd      int
	joinPidfdFlags uintptr
	joinNames      []*byte  // for each joinFds[i], its link under nsDir, NUL-terminated
	joinIno        []uint64 // for each joinFds[i], its namespace's inode number
	joinUserName   *byte
	joinUserIno    uint64
	statx          unix.Statx_t // the child's statx buffer

	// childPID is where clone's CLONE_PARENT_SETTID stores the PID of the
	// program's process when the child forks it (refork): in memory that
	// the parent shares with the child (pidWord for a CLONE_VM child, a
	// MAP_SHARED page for a copy). The kernel stores it before the fork
	// returns, so the parent finds it even if the child is killed right
	// after; the child reports nothing more and exits.
	childPID *int32
	pidWord  int32
	// reforkNewPID: the program's process makes a new PID namespace inside
	// the joined one and forks again (see childRefork); childPID2 is where
	// the kernel stores that second PID, as the joined namespace numbers
	// it, in a MAP_SHARED page.
	reforkNewPID bool
	childPID2    *int32
	// awaitLate: the child waits for the parent (OnClone in Handle.Spawn,
	// which writes no maps) once it is the program's process, in its
	// namespaces, rather than right after the clone (see childAwaitLate).
	awaitLate bool
	// testKillAfterRefork, for tests only, makes the child SIGKILL itself
	// right after it forked the program's process.
	testKillAfterRefork bool

	pdeathsig uintptr

	// The sandbox's families of steps, each in a file of its own: mounts and
	// the new root (mount_linux.go), session and terminal
	// (terminal_linux.go), limits, capabilities, no_new_privs and seccomp
	// (privileges_linux.go).
	mnt  mountPlan
	term termPlan
	priv privPlan
	net  netPlan  // Loopback (net_linux.go)
	init initPlan // Init, BlockFD, OnClone, DisableUserNamespaces (init_linux.go)

	hostname   []byte
	domainname []byte

	unshareTime bool
	timeOffsets []byte // text for timens_offsets; empty: write nothing

	setGroups bool
	// credsBestEffort: the IDs are a joined user namespace's root, which
	// may be unmapped there (EINVAL: the IDs stay the caller's, shown as the
	// overflow ID) or deny setgroups (EPERM).
	credsBestEffort bool
	groups          []uint32
	setGID          bool
	gid             uintptr
	setUID          bool
	uid             uintptr

	// sigmask is the signal mask of the cloning thread before the clone,
	// which an own-stack child, and a vfork child made by clone3, restore
	// themselves (see childOwnStack and forkExec).
	sigmask uint64

	// Options.Cgroup and Process.PidFD (cgroup_linux.go, process_linux.go).
	// With intoCgroup, every path clones by clone3 with CLONE_INTO_CGROUP
	// into cgroupFd, the copy too, and never falls back to clone. With
	// wantPidfd, clone3 stores a pidfd of the child in pidfd (CLONE_PIDFD),
	// which stays -1 where clone made the child; the kernel writes it in
	// the parent before the child runs, and the child never touches it.
	intoCgroup bool
	cgroupFd   int
	wantPidfd  bool
	pidfd      int32

	sigact   [3]kernelSigaction // an own-stack child's rt_sigaction buffers
	statfs   unix.Statfs_t      // the child's fstatfs buffer
	procRoot uintptr            // /proc, opened by childOpenProc, or AT_FDCWD
	report   [3]uint32          // step, errno, index (which mount, which limit, ...)
	syncByte byte
}

// Strings the child passes to the kernel.
var (
	strSlash         = [...]byte{'/', 0}
	strProc          = [...]byte{'p', 'r', 'o', 'c', 0}
	strProcDir       = [...]byte{'/', 'p', 'r', 'o', 'c', 0}
	strTimensFile    = []byte("self/timens_offsets\x00")
	strTimeNSFile    = []byte("self/ns/time_for_children\x00")
	strThreadNS      = []byte("/proc/thread-self/ns\x00")
	strSelfSetgroups = [...]byte{'/', 'p', 'r', 'o', 'c', '/', 's', 'e', 'l', 'f', '/', 's', 'e', 't', 'g', 'r', 'o', 'u', 'p', 's', 0}
	strSelfUIDMap    = [...]byte{'/', 'p', 'r', 'o', 'c', '/', 's', 'e', 'l', 'f', '/', 'u', 'i', 'd', '_', 'm', 'a', 'p', 0}
	strSelfGIDMap    = [...]byte{'/', 'p', 'r', 'o', 'c', '/', 's', 'e', 'l', 'f', '/', 'g', 'i', 'd', '_', 'm', 'a', 'p', 0}
	strDeny          = [...]byte{'d', 'e', 'n', 'y'}
	cloneFirstArgs   = runtime.GOARCH != "s390x" // s390x takes the stack first
)

// cloneArgs is struct clone_args as clone3(2) takes it, up to its third
// version (CLONE_ARGS_SIZE_VER2, Linux 5.7, which adds cgroup). Kernels
// from 5.3 on take the longer struct as long as the fields they do not know
// are zero.
type cloneArgs struct {
	flags      uint64
	pidfd      uint64 // where CLONE_PIDFD stores the pidfd, an int
	childTID   uint64
	parentTID  uint64
	exitSignal uint64
	stack      uint64 // the lowest address; the kernel adds stackSize
	stackSize  uint64
	tls        uint64
	setTID     uint64 // Linux 5.5
	setTIDSize uint64
	cgroup     uint64 // with CLONE_INTO_CGROUP, a cgroup v2 directory's descriptor; Linux 5.7
}

// cloneArgsFor returns the clone3 arguments for p's child: its namespaces
// and exit signal, its cgroup, and where the pidfd goes.
//
//go:nosplit
//go:norace
//go:nocheckptr
func cloneArgsFor(p *childPlan) cloneArgs {
	args := cloneArgs{
		flags:      uint64(p.cloneFlags &^ 0xff),
		exitSignal: uint64(p.cloneFlags & 0xff),
	}
	if p.intoCgroup {
		args.flags |= unix.CLONE_INTO_CGROUP
		args.cgroup = uint64(p.cgroupFd)
	}
	if p.wantPidfd {
		args.flags |= unix.CLONE_PIDFD
		args.pidfd = uint64(uintptr(unsafe.Pointer(&p.pidfd)))
	}
	return args
}

// kernelSigaction is struct sigaction as rt_sigaction(2) takes it on amd64 (the one architecture whose own-stack child uses it).
type kernelSigaction struct {
	handler  uintptr // 0 SIG_DFL, 1 SIG_IGN, or a function
	flags    uint64
	restorer uintptr
	mask     uint64
}

// noClone3 is set once clone3 with CLONE_CLEAR_SIGHAND fails where clone
// succeeds: the kernel predates either.
var noClone3 atomic.Bool

// atFDCWD is AT_FDCWD (-100) as a system call argument.
const atFDCWD = ^uintptr(-unix.AT_FDCWD - 1)

// forkExec clones the calling thread as the child described by p. In the
// parent it returns the child's PID or the clone errno; the child never
// returns.
//
// A child with CLONE_VM (vfork, or a stack of its own) is made by clone3 with
// CLONE_CLEAR_SIGHAND where the kernel has both: the kernel resets the
// child's signal handlers, and the child restores only the mask, which the
// runtime's fork hook blocked. That is one system call where the hook makes
// one for every signal the runtime handles (57 here, 14 to 15 µs in C, while
// a vfork parent waits). By clone, on an older kernel, a vfork child calls the
// hook and an own-stack child resets the handlers itself (see childOwnStack).
//
//go:norace
//go:nocheckptr
//go:noinline
func forkExec(p *childPlan) (pid int, errno syscall.Errno) {
	if p.stackTop == 0 && !p.vfork {
		runtime_BeforeFork()
		var r uintptr
		if p.intoCgroup {
			// Into a cgroup, which clone cannot: clone3 without CLONE_VM
			// and without a stack, a copy as fork(2) makes.
			args := cloneArgsFor(p)
			r, _, errno = syscall.RawSyscall6(unix.SYS_CLONE3, uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args), 0, 0, 0, 0)
		} else if cloneFirstArgs {
			r, _, errno = syscall.RawSyscall6(syscall.SYS_CLONE, p.cloneFlags, 0, 0, 0, 0, 0)
		} else {
			r, _, errno = syscall.RawSyscall6(syscall.SYS_CLONE, 0, p.cloneFlags, 0, 0, 0, 0)
		}
		if errno != 0 || r != 0 {
			runtime_AfterFork()
			return int(r), errno
		}
		runtime_AfterForkInChild()
		childMain(p)
		return 0, 0 // not reached
	}
	// The mask this thread has now, which runtime_BeforeFork saves in the
	// thread's M, where an own-stack child must not reach.
	runtime.LockOSThread()
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, 0, 0, uintptr(unsafe.Pointer(&p.sigmask)), unsafe.Sizeof(p.sigmask), 0, 0)
	useClone3, clone3Failed := !noClone3.Load() || p.intoCgroup, false
	runtime_BeforeFork()
	var r, e uintptr
	if useClone3 {
		args := cloneArgsFor(p)
		args.flags |= unix.CLONE_VM | unix.CLONE_CLEAR_SIGHAND
		p.sighandCleared = true
		if p.vfork {
			args.flags |= unix.CLONE_VFORK
			r, e = rawVforkClone(unix.SYS_CLONE3, uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args), 0)
		} else {
			args.stack, args.stackSize = uint64(p.stackLo), uint64(p.stackTop-p.stackLo)
			r, e = rawCloneOwnStack(unix.SYS_CLONE3, uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args), childOwnStackFn, unsafe.Pointer(p))
		}
	}
	if !useClone3 || !p.intoCgroup && (e == uintptr(syscall.ENOSYS) || e == uintptr(syscall.EINVAL) || e == uintptr(syscall.EPERM)) {
		// No clone3 (Linux 5.3) or no CLONE_CLEAR_SIGHAND (5.5), or a
		// seccomp profile that answers clone3 with EPERM, as older
		// container engines' do for system calls they do not know; or
		// flags that clone refuses too, which says so below. Not for a
		// child that goes into a cgroup, which clone cannot do: its
		// errno is the answer.
		p.sighandCleared = false
		if p.vfork {
			r, e = rawVforkClone(syscall.SYS_CLONE, p.cloneFlags|unix.CLONE_VM|unix.CLONE_VFORK, 0, 0)
		} else {
			r, e = rawCloneOwnStack(syscall.SYS_CLONE, p.cloneFlags|unix.CLONE_VM, p.stackTop, childOwnStackFn, unsafe.Pointer(p))
		}
		clone3Failed = useClone3 && e == 0
	}
	if r == 0 && e == 0 {
		// The vfork child, on this stack, in this goroutine's frame, with
		// every signal blocked. (An own-stack child starts in
		// childOwnStack and never comes here.)
		if p.sighandCleared {
			syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, 2 /* SIG_SETMASK */, uintptr(unsafe.Pointer(&p.sigmask)), 0, 8, 0, 0)
		} else {
			runtime_AfterForkInChild()
		}
		childMain(p)
	}
	runtime_AfterFork()
	runtime.UnlockOSThread()
	if clone3Failed {
		noClone3.Store(true)
	}
	return int(r), syscall.Errno(e)
}

// childMain runs in the child and ends in execve or exit: the steps in the
// order that the package documentation gives, each a function that returns
// only if it succeeded.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childMain(p *childPlan) {
	childAwaitMaps(p)
	childSelfMaps(p)
	childOpenProc(p)
	childJoin(p)
	childUnshare(p)
	childRefork(p)
	childAwaitLate(p)
	childSession(p)
	childUserNSLimit(p)
	childMounts(p)
	childNet(p)
	childNames(p)
	childTime(p)
	childInit(p)
	childBlock(p)
	childFdsLift(p)
	childRlimits(p)
	childBounding(p)
	childCreds(p)
	childNestUser(p)
	childCaps(p)
	childPdeathsig(p)
	childChdir(p)
	childFds(p)
	childTerminal(p)
	childSeccomp(p)
	childExec(p)
}

// childAwaitMaps waits until the parent has written the ID maps, if it writes them.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childAwaitMaps(p *childPlan) {
	if p.syncFd >= 0 && !p.awaitLate {
		childAwaitSync(p)
	}
}

// childAwaitLate, in Handle.Spawn with OnClone, tells the parent that the
// process that goes on to the program is in its namespaces, joined and new
// (a stepReady report), and waits until OnClone has run.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childAwaitLate(p *childPlan) {
	if p.awaitLate {
		childReport(p, stepReady, 0, 0)
		childAwaitSync(p)
	}
}

// childAwaitSync waits until the parent releases the child through the sync
// pipe.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childAwaitSync(p *childPlan) {
	// End-of-file means the parent gave up (or died): leave quietly, it
	// reaps or abandons us.
	syscall.RawSyscall6(syscall.SYS_CLOSE, uintptr(p.syncWriteFd), 0, 0, 0, 0, 0)
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_READ, uintptr(p.syncFd), uintptr(unsafe.Pointer(&p.syncByte)), 1, 0, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if n != 1 {
			childExit(0)
		}
		return
	}
}

// childSelfMaps writes the ID maps that the child writes itself (see choosePath).
//
//go:nosplit
//go:norace
//go:nocheckptr
func childSelfMaps(p *childPlan) {
	var e syscall.Errno
	if p.selfDenySetgroups {
		if e = childWriteAt(atFDCWD, &strSelfSetgroups[0], &strDeny[0], len(strDeny)); e != 0 {
			childFail(p, stepSelfSetgroups, e)
		}
	}
	if len(p.selfUIDMap) > 0 {
		if e = childWriteAt(atFDCWD, &strSelfUIDMap[0], &p.selfUIDMap[0], len(p.selfUIDMap)); e != 0 {
			childFail(p, stepSelfUIDMap, e)
		}
	}
	if len(p.selfGIDMap) > 0 {
		if e = childWriteAt(atFDCWD, &strSelfGIDMap[0], &p.selfGIDMap[0], len(p.selfGIDMap)); e != 0 {
			childFail(p, stepSelfGIDMap, e)
		}
	}
}

// childOpenProc opens /proc for the time namespace steps.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childOpenProc(p *childPlan) {
	// The /proc files the child writes are opened relative to /proc,
	// opened here, before it may enter a mount namespace whose /proc another
	// process controls, and checked to be procfs. They are under "self",
	// looked up when they are opened: by the process that runs the
	// program, which a child that forks it into a PID namespace is not.
	p.procRoot = atFDCWD
	if p.unshareTime {
		fd, e := childOpenProcDir(p)
		if e != 0 {
			childFail(p, stepOpenProc, e)
		}
		p.procRoot = fd
	}
}

// childOpenProcDir opens /proc (O_PATH) and checks that it is a proc file
// system, not something mounted over it: the directory under which the
// child writes /proc files.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childOpenProcDir(p *childPlan) (uintptr, syscall.Errno) {
	fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(&strProcDir[0])), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, 0, 0)
	if e == 0 {
		_, _, e = syscall.RawSyscall6(syscall.SYS_FSTATFS, fd, uintptr(unsafe.Pointer(&p.statfs)), 0, 0, 0, 0)
		if e == 0 && p.statfs.Type != unix.PROC_SUPER_MAGIC {
			e = syscall.EXDEV
		}
		if e != 0 {
			syscall.RawSyscall6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
		}
	}
	return fd, e
}

// childJoin enters a handle's namespaces.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childJoin(p *childPlan) {
	joined := false
	var e syscall.Errno
	if p.joinPidfd >= 0 {
		// One setns through the pidfd, checked against the handle's
		// namespaces through /proc/thread-self/ns, opened before it; without
		// that directory, the descriptors alone.
		dir, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(&strThreadNS[0])), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, 0, 0)
		if e == 0 {
			if _, _, e = syscall.RawSyscall6(unix.SYS_SETNS, uintptr(p.joinPidfd), p.joinPidfdFlags, 0, 0, 0, 0); e == 0 {
				joined = true
				if p.joinUserName != nil && !childInNS(p, dir, p.joinUserName, p.joinUserIno) {
					childFail(p, stepPidfdMoved, syscall.ESTALE)
				}
				for i := 0; i < len(p.joinNames); i++ {
					if !childInNS(p, dir, p.joinNames[i], p.joinIno[i]) {
						childFail(p, stepPidfdMoved, syscall.ESTALE)
					}
				}
			}
			syscall.RawSyscall6(syscall.SYS_CLOSE, dir, 0, 0, 0, 0, 0)
		}
	}
	if !joined && (len(p.joinFds) > 0 || p.joinUser >= 0) {
		// As nsenter: every kind but user, letting EPERM pass when a user
		// namespace follows; the user namespace; what failed, again.
		var failed [8]bool
		for i := 0; i < len(p.joinFds); i++ {
			if _, _, e = syscall.RawSyscall6(unix.SYS_SETNS, uintptr(p.joinFds[i]), p.joinTypes[i], 0, 0, 0, 0); e != 0 {
				if e == syscall.EPERM && p.joinUser >= 0 {
					failed[i] = true
					continue
				}
				childFail(p, stepSetns+uint32(i), e)
			}
		}
		if p.joinUser >= 0 {
			if _, _, e = syscall.RawSyscall6(unix.SYS_SETNS, uintptr(p.joinUser), unix.CLONE_NEWUSER, 0, 0, 0, 0); e != 0 {
				childFail(p, stepSetnsUser, e)
			}
		}
		for i := 0; i < len(p.joinFds); i++ {
			if failed[i] {
				if _, _, e = syscall.RawSyscall6(unix.SYS_SETNS, uintptr(p.joinFds[i]), p.joinTypes[i], 0, 0, 0, 0); e != 0 {
					childFail(p, stepSetns+uint32(i), e)
				}
			}
		}
	}
}

// childUnshare creates the new namespaces of a child that joined some.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childUnshare(p *childPlan) {
	var e syscall.Errno
	if p.unshareFlags != 0 {
		if _, _, e = syscall.RawSyscall6(syscall.SYS_UNSHARE, p.unshareFlags, 0, 0, 0, 0, 0); e != 0 {
			childFail(p, stepUnshare, e)
		}
	}
}

// childRefork forks the program's process into a PID namespace, joined or
// new; the child itself exits. With both (reforkNewPID), the process forked
// into the joined namespace makes the new one there and forks again, and
// exits too: the kernel makes a PID namespace only inside the one its
// creator is in, not in the one it joined for its children.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childRefork(p *childPlan) {
	if !p.refork {
		return
	}
	childForkProgram(p, p.childPID, p.testKillAfterRefork)
	if p.reforkNewPID {
		if _, _, e := syscall.RawSyscall6(syscall.SYS_UNSHARE, unix.CLONE_NEWPID, 0, 0, 0, 0, 0); e != 0 {
			childFail(p, stepReforkUnsharePID, e)
		}
		childForkProgram(p, p.childPID2, false)
	}
}

// childForkProgram forks the process that goes on, and returns in it; the
// calling process exits. The new process is forked with CLONE_PARENT, so it
// is the caller's child too, and with CLONE_PARENT_SETTID, so that the
// kernel stores its PID at ptid, as the forking process's PID namespace
// numbers it, before the fork returns.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childForkProgram(p *childPlan, ptid *int32, kill bool) {
	const flags = unix.CLONE_PARENT | unix.CLONE_PARENT_SETTID | uintptr(syscall.SIGCHLD)
	var e syscall.Errno
	if p.vfork {
		// Like this child's own clone: its stack is the parent's, and
		// both sleep until the program's process execs. This child
		// then wakes on a stack that the program's process has used,
		// so rawVforkRefork exits for it, touching nothing of it.
		var k uintptr
		if kill {
			k = 1
		}
		if e = syscall.Errno(rawVforkRefork(flags|unix.CLONE_VM|unix.CLONE_VFORK, uintptr(unsafe.Pointer(ptid)), k)); e != 0 {
			childFail(p, stepRefork, e)
		}
		return // in the new process
	}
	var r uintptr
	if cloneFirstArgs {
		r, _, e = syscall.RawSyscall6(syscall.SYS_CLONE, flags, 0, uintptr(unsafe.Pointer(ptid)), 0, 0, 0)
	} else {
		r, _, e = syscall.RawSyscall6(syscall.SYS_CLONE, 0, flags, uintptr(unsafe.Pointer(ptid)), 0, 0, 0)
	}
	if e != 0 {
		childFail(p, stepRefork, e)
	}
	if r != 0 {
		if kill {
			self, _, _ := syscall.RawSyscall6(syscall.SYS_GETPID, 0, 0, 0, 0, 0, 0)
			syscall.RawSyscall6(syscall.SYS_KILL, self, uintptr(syscall.SIGKILL), 0, 0, 0, 0)
		}
		childExit(0)
	}
}

// childNames sets the host and domain names.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childNames(p *childPlan) {
	var e syscall.Errno
	if len(p.hostname) > 0 {
		if _, _, e = syscall.RawSyscall6(syscall.SYS_SETHOSTNAME, uintptr(unsafe.Pointer(&p.hostname[0])), uintptr(len(p.hostname)), 0, 0, 0, 0); e != 0 {
			childFail(p, stepSethostname, e)
		}
	}
	if len(p.domainname) > 0 {
		if _, _, e = syscall.RawSyscall6(syscall.SYS_SETDOMAINNAME, uintptr(unsafe.Pointer(&p.domainname[0])), uintptr(len(p.domainname)), 0, 0, 0, 0); e != 0 {
			childFail(p, stepSetdomainname, e)
		}
	}
}

// childTime creates and enters the new time namespace.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childTime(p *childPlan) {
	var e syscall.Errno
	if p.unshareTime {
		// unshare makes the namespace for the children, where the offsets can
		// still be written; then the child, being single-threaded, enters it
		// with setns (Linux 5.6), which freezes the offsets. That works
		// whether or not execve would move it there by itself.
		if _, _, e = syscall.RawSyscall6(syscall.SYS_UNSHARE, unix.CLONE_NEWTIME, 0, 0, 0, 0, 0); e != 0 {
			childFail(p, stepUnshareTime, e)
		}
		if len(p.timeOffsets) > 0 {
			fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, p.procRoot, uintptr(unsafe.Pointer(&strTimensFile[0])), unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0, 0, 0)
			if e != 0 {
				childFail(p, stepOpenTimens, e)
			}
			n, _, e := syscall.RawSyscall6(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p.timeOffsets[0])), uintptr(len(p.timeOffsets)), 0, 0, 0)
			if e == 0 && n != uintptr(len(p.timeOffsets)) {
				e = syscall.EIO
			}
			if e != 0 {
				childFail(p, stepWriteTimens, e)
			}
			syscall.RawSyscall6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
		}
		fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, p.procRoot, uintptr(unsafe.Pointer(&strTimeNSFile[0])), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
		if e != 0 {
			childFail(p, stepOpenTimeNS, e)
		}
		if _, _, e = syscall.RawSyscall6(unix.SYS_SETNS, fd, unix.CLONE_NEWTIME, 0, 0, 0, 0); e != 0 {
			childFail(p, stepSetnsTime, e)
		}
		syscall.RawSyscall6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
		syscall.RawSyscall6(syscall.SYS_CLOSE, p.procRoot, 0, 0, 0, 0, 0)
	}
}

// childCreds changes the credentials.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childCreds(p *childPlan) {
	var e syscall.Errno
	if p.setGroups {
		var list uintptr
		if len(p.groups) > 0 {
			list = uintptr(unsafe.Pointer(&p.groups[0]))
		}
		if _, _, e = syscall.RawSyscall6(sysSetgroups, uintptr(len(p.groups)), list, 0, 0, 0, 0); e != 0 && !(e == syscall.EPERM && p.credsBestEffort) {
			childFail(p, stepSetgroups, e)
		}
	}
	if p.setGID {
		if _, _, e = syscall.RawSyscall6(sysSetresgid, p.gid, p.gid, p.gid, 0, 0, 0); e != 0 && !(e == syscall.EINVAL && p.credsBestEffort) {
			childFail(p, stepSetgid, e)
		}
	}
	if p.setUID {
		if _, _, e = syscall.RawSyscall6(sysSetresuid, p.uid, p.uid, p.uid, 0, 0, 0); e != 0 && !(e == syscall.EINVAL && p.credsBestEffort) {
			childFail(p, stepSetuid, e)
		}
	}
}

// childPdeathsig sets the parent-death signal.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childPdeathsig(p *childPlan) {
	var e syscall.Errno
	// The kernel clears the parent-death signal when the credentials change,
	// so set it after them. The parent thread cannot exit before the execve:
	// it waits in Spawn for the error pipe to close.
	if p.pdeathsig != 0 {
		if _, _, e = syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, p.pdeathsig, 0, 0, 0, 0); e != 0 {
			childFail(p, stepPdeathsig, e)
		}
	}
}

// childChdir changes the working directory.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childChdir(p *childPlan) {
	var e syscall.Errno
	if p.dir != nil {
		if _, _, e = syscall.RawSyscall6(syscall.SYS_CHDIR, uintptr(unsafe.Pointer(p.dir)), 0, 0, 0, 0, 0); e != 0 {
			for i := 0; i < len(p.dirFallbacks); i++ {
				if _, _, e2 := syscall.RawSyscall6(syscall.SYS_CHDIR, uintptr(unsafe.Pointer(p.dirFallbacks[i])), 0, 0, 0, 0, 0); e2 == 0 {
					p.dirEntered = i + 1 // no pointer store: no write barrier
					return
				}
			}
			childFail(p, stepChdir, e)
		}
	}
}

// childFdsLift moves the error pipe and every source descriptor that sits
// on a target number (0..len(fds)-1) off the targets, where childFds finds
// them. It duplicates with F_DUPFD_CLOEXEC from len(fds) up, which takes
// the lowest free number that is no target: it never closes a descriptor
// the child opened itself and still needs (DisableUserNamespaces' /proc;
// dup3 onto numbers above the caller's pipes closed it when the caller's
// table had no hole), and needs only one free number below the caller's
// RLIMIT_NOFILE per lifted descriptor, as os/exec does. It runs before
// childRlimits, which may lower that limit below the numbers in use.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childFdsLift(p *childPlan) {
	if p.errFd < len(p.fds) {
		fd, _, e := syscall.RawSyscall6(syscall.SYS_FCNTL, uintptr(p.errFd), syscall.F_DUPFD_CLOEXEC, uintptr(len(p.fds)), 0, 0, 0)
		if e != 0 {
			childFail(p, stepDupFd, e)
		}
		p.errFd = int(fd)
	}
	for i := 0; i < len(p.fds); i++ {
		if p.fds[i] >= 0 && p.fds[i] < len(p.fds) {
			fd, _, e := syscall.RawSyscall6(syscall.SYS_FCNTL, uintptr(p.fds[i]), syscall.F_DUPFD_CLOEXEC, uintptr(len(p.fds)), 0, 0, 0)
			if e != 0 {
				childFail(p, stepDupFd, e)
			}
			p.fds[i] = int(fd)
		}
	}
}

// childFds puts the program's descriptors in place: each source, lifted
// out of the way by childFdsLift, on its target; dup3 without O_CLOEXEC
// leaves the targets open across execve, and everything else the caller
// had is close-on-exec.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childFds(p *childPlan) {
	var e syscall.Errno
	for i := 0; i < len(p.fds); i++ {
		if p.fds[i] < 0 {
			// A run of targets to close, with one close_range(2)
			// (Linux 5.9), else one by one: every source is above the
			// targets by now. (A caller that passes one descriptor at
			// its own high number, as examples/sandbox does for bwrap's
			// inherited ones, leaves hundreds.)
			j := i + 1
			for j < len(p.fds) && p.fds[j] < 0 {
				j++
			}
			if _, _, e = syscall.RawSyscall6(unix.SYS_CLOSE_RANGE, uintptr(i), uintptr(j-1), 0, 0, 0, 0); e != 0 {
				for k := i; k < j; k++ {
					syscall.RawSyscall6(syscall.SYS_CLOSE, uintptr(k), 0, 0, 0, 0, 0)
				}
			}
			i = j - 1
			continue
		}
		if _, _, e = syscall.RawSyscall6(syscall.SYS_DUP3, uintptr(p.fds[i]), uintptr(i), 0, 0, 0, 0); e != 0 {
			childFail(p, stepDupFd, e)
		}
	}

	// Descriptors the caller inherited without close-on-exec must not reach
	// the program either: mark every one above the targets close-on-exec
	// (Linux 5.11; older kernels refuse the flag and keep such descriptors).
	syscall.RawSyscall6(unix.SYS_CLOSE_RANGE, uintptr(len(p.fds)), ^uintptr(0), unix.CLOSE_RANGE_CLOEXEC, 0, 0, 0)
}

// childExec runs the program.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childExec(p *childPlan) {
	envv := p.envv
	if k := p.dirEntered - 1; k >= 0 && k < len(p.fallbackEnvs) {
		envv = p.fallbackEnvs[k]
	}
	_, _, e := syscall.RawSyscall6(syscall.SYS_EXECVE, uintptr(unsafe.Pointer(p.path)), uintptr(unsafe.Pointer(p.argv)), uintptr(unsafe.Pointer(envv)), 0, 0, 0)
	childFail(p, stepExec, e)
}

// childWriteAt writes data to the file at path under dir with one
// write(2) and returns the errno.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childWriteAt(dir uintptr, path *byte, data *byte, size int) syscall.Errno {
	fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, dir, uintptr(unsafe.Pointer(path)), unix.O_WRONLY|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		return e
	}
	n, _, e := syscall.RawSyscall6(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(data)), uintptr(size), 0, 0, 0)
	if e == 0 && n != uintptr(size) {
		e = syscall.EIO
	}
	syscall.RawSyscall6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
	return e
}

// childInNS reports whether the link name under dir, a /proc/thread-self/ns
// of the child's, is the namespace with inode number ino: every namespace
// file is on the one nsfs device.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childInNS(p *childPlan, dir uintptr, name *byte, ino uint64) bool {
	_, _, e := syscall.RawSyscall6(unix.SYS_STATX, dir, uintptr(unsafe.Pointer(name)), 0, unix.STATX_INO, uintptr(unsafe.Pointer(&p.statx)), 0)
	return e == 0 && p.statx.Ino == ino
}

// childFail reports step and errno to the parent and exits.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childFail(p *childPlan, step uint32, errno syscall.Errno) {
	childFailAt(p, step, 0, errno)
}

// childFailAt reports step, the index of what it was doing (a mount, a
// limit, ...) and errno to the parent and exits.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childFailAt(p *childPlan, step, idx uint32, errno syscall.Errno) {
	childReport(p, step, idx, errno)
	childExit(127)
}

// childReport writes one report (step, errno, index) to the parent.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childReport(p *childPlan, step, idx uint32, errno syscall.Errno) {
	p.report[0] = step
	p.report[1] = uint32(errno)
	p.report[2] = idx
	syscall.RawSyscall6(syscall.SYS_WRITE, uintptr(p.errFd), uintptr(unsafe.Pointer(&p.report)), unsafe.Sizeof(p.report), 0, 0, 0)
}

//go:nosplit
//go:norace
func childExit(code uintptr) {
	for {
		syscall.RawSyscall6(syscall.SYS_EXIT_GROUP, code, 0, 0, 0, 0, 0)
	}
}
