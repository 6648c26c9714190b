package namespace

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// NewUserNamespace creates a user namespace, child of the caller's, with
// uidMap and gidMap written, and returns an open file of it, as
// /proc/PID/ns/user is: for the userns_fd of mount_setattr(2) with
// MOUNT_ATTR_IDMAP (an idmapped mount, Linux 5.12), for setns(2) in a
// single-threaded child, for FromPath("/proc/self/fd/N"), or for anything
// else that takes a user namespace descriptor. No process is left in the
// namespace: it lives as long as the file, or whatever else pins it, is
// open. The file is close-on-exec; its name is the namespace's link text,
// "user:[INODE]".
//
// The maps follow the rules of Options.UIDMap and Options.GIDMap with
// SetGroups Auto, and are checked the same way before any process is made:
// a map that the kernel would refuse is an error naming it and the range
// ("UIDMap: ..."). A nil map is not written, and the namespace then maps
// no user (or group) ID. The caller writes them as Spawn does: with
// CAP_SETUID and CAP_SETGID any ranges of its own namespace; without, its
// own effective IDs, one each (with setgroups denied in the namespace for
// the gid map), or ranges that /etc/subuid and /etc/subgid delegate to it,
// through newuidmap and newgidmap (see idmap.Write). The namespace's owner
// is the caller's effective user ID; the caller holds every capability in
// it, so it may hand it to mount_setattr or setns.
//
// With MOUNT_ATTR_IDMAP, the kernel reads a file's owner as stored on disk
// as an ID inside the namespace and shows the outside ID it maps to: with
// uidMap {Inside: 0, Outside: 100000, Count: 65536}, a file that root owns
// on disk appears owned by 100000 through the mount, and one that 100000
// creates there is stored as 0.
//
// The namespace is made by a child cloned with CLONE_NEWUSER that waits,
// running nothing of the program's, while the caller writes its maps and
// opens its /proc/PID/ns/user; then the child is killed and reaped. It is the
// raw child of Spawn (see "How the child works"), on a stack of its own in
// the caller's memory, or a copy of the process where Spawn's child would be
// one (race builds, architectures without the CLONE_VM code). On every
// error nothing remains: no process, no descriptor. The error wraps the
// errno, as Spawn's do: errors.Is(err, os.ErrPermission) for maps the caller
// may not write, or a user namespace it may not create.
func NewUserNamespace(uidMap, gidMap idmap.Map) (*os.File, error) {
	f, err := newUserNamespace(uidMap, gidMap)
	if err != nil {
		return nil, fmt.Errorf("new user namespace: %w", err)
	}
	return f, nil
}

func newUserNamespace(uidMap, gidMap idmap.Map) (*os.File, error) {
	o := Options{Path: "NewUserNamespace", New: User, UIDMap: uidMap, GIDMap: gidMap}
	if err := checkOptions(&o); err != nil {
		return nil, err
	}
	ownStack := haveVfork && !raceBuild
	switch forceChildPath {
	case pathVfork:
		return nil, errors.New("test: a vfork child cannot wait while the parent writes its maps")
	case pathOwnStack:
		if !haveVfork {
			return nil, errors.New("test: no CLONE_VM child on this architecture")
		}
		ownStack = true
	case pathCopy:
		ownStack = false
	}

	// The child is Spawn's, with a sync pipe and nothing else in its plan:
	// childAwaitMaps, its first step, blocks reading the pipe, which the
	// parent never writes. End-of-file (the parent closes its end) makes
	// it exit 0 quietly; the parent kills it before that anyway, since a
	// copy in a race build may never get as far as the read. The plan is
	// on the heap: an own-stack child reads it while this goroutine, whose
	// stack may move, goes on.
	p := new(childPlan)
	p.cloneFlags = unix.CLONE_NEWUSER | uintptr(syscall.SIGCHLD)
	p.errFd, p.joinUser, p.joinPidfd = -1, -1, -1 // it reports nothing
	var syncPipe [2]int
	var stack *childStack
	if ownStack {
		stack = stackPool.Get().(*childStack)
		p.stackLo = uintptr(unsafe.Pointer(&stack[0]))
		p.stackTop = uintptr(unsafe.Pointer(&stack[len(stack)-64]))
	}
	syscall.ForkLock.Lock()
	if err := unix.Pipe2(syncPipe[:], unix.O_CLOEXEC); err != nil {
		syscall.ForkLock.Unlock()
		if stack != nil {
			stackPool.Put(stack)
		}
		return nil, os.NewSyscallError("pipe2", err)
	}
	p.syncFd, p.syncWriteFd = syncPipe[0], syncPipe[1]
	pid, errno := forkExec(p)
	syscall.ForkLock.Unlock()
	unix.Close(syncPipe[0])
	if errno != 0 {
		unix.Close(syncPipe[1])
		if stack != nil {
			stackPool.Put(stack)
		}
		return nil, cloneError(errno, User)
	}

	f, err := holdUserNamespace(pid, uidMap, gidMap)

	// The child goes, whatever happened; then its stack and plan are free.
	// One that died meanwhile may be why it failed: the error says so.
	if ws, exited := reapIfExited(pid); exited && err != nil {
		err = fmt.Errorf("the child holding the namespace exited (%s) before its ID maps were written and its namespace opened: %w", waitStatusText(ws), err)
	} else if !exited {
		killAndReap(pid)
	}
	unix.Close(syncPipe[1])
	runtime.KeepAlive(p)
	if stack != nil {
		stackPool.Put(stack)
	}
	return f, err
}

// holdUserNamespace writes the maps of pid, the waiting child, and opens
// its user namespace. A child that died meanwhile (a zombie, not reaped)
// may serve as well, since its namespace lives as long as its credentials,
// which go only when it is reaped; but only root may write the maps of a
// process without memory: others get EACCES.
func holdUserNamespace(pid int, uidMap, gidMap idmap.Map) (*os.File, error) {
	if beforeMapsTestHook != nil {
		beforeMapsTestHook(pid)
	}
	if err := idmap.Write(pid, uidMap, gidMap, idmap.Auto); err != nil {
		return nil, err
	}
	path := "/proc/" + strconv.Itoa(pid) + "/ns/user"
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	// The child is not reaped, so its PID is its own; still, make sure
	// the file is a user namespace, as /proc on a file system other than
	// procfs might say otherwise.
	kind, err := procfs.KindOf(fd)
	if err == nil && kind != User {
		err = fmt.Errorf("%s is a %s namespace", path, kind)
	}
	var st unix.Stat_t
	if err == nil {
		err = os.NewSyscallError("fstat", unix.Fstat(fd, &st))
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "user:["+strconv.FormatUint(st.Ino, 10)+"]"), nil
}
