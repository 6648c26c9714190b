package namespace

// PIDs across PID namespaces: ioctl NS_GET_PID_IN_PIDNS and
// NS_GET_PID_FROM_PIDNS where the kernel has them, NSpid of /proc/PID/status
// otherwise.

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// PIDInside returns the number that process pid of the caller's PID
// namespace has in the handle's PID namespace: 1 for the init of a container
// that Join pinned by its host PID, say. pid may be a thread's ID too.
//
// PIDOutside does the opposite. A process that has no number in the other
// namespace (one outside the handle's namespace, for PIDInside; none with
// that number there, for PIDOutside) gives an error matching unix.ESRCH and
// os.ErrNotExist. A handle without PID gives an error matching os.ErrInvalid.
//
// Both use ioctl NS_GET_PID_IN_PIDNS and NS_GET_PID_FROM_PIDNS on the
// handle's PID namespace (Linux 6.11), which need no privilege. Before
// that, they read the NSpid line of /proc/PID/status (Linux 4.1), which
// lists a process's numbers from the namespace of the caller's /proc down to
// its own; that works for the caller's own PID namespace and those below it,
// and other namespaces give an error matching ErrNotSupported. PIDOutside
// then looks through every process and thread under /proc.
func (h *Handle) PIDInside(pid int) (int, error) {
	n, err := h.translatePID(pid, true)
	if err != nil {
		return 0, fmt.Errorf("pid %d inside %s: %w", pid, h.String(), err)
	}
	return n, nil
}

// PIDOutside returns the number in the caller's PID namespace of process pid
// of the handle's PID namespace: the host PID of a container's init, for
// pid 1. See PIDInside.
func (h *Handle) PIDOutside(pid int) (int, error) {
	n, err := h.translatePID(pid, false)
	if err != nil {
		return 0, fmt.Errorf("pid %d of %s outside: %w", pid, h.String(), err)
	}
	return n, nil
}

const (
	nsGetPIDFromPIDNS = unix.NS_GET_PID_FROM_PIDNS // _IOR(NSIO, 0x6, int)
	nsGetPIDInPIDNS   = unix.NS_GET_PID_IN_PIDNS   // _IOR(NSIO, 0x8, int)
)

// pidIoctlState caches what the kernel was found to have: 0 not probed
// yet, 1 the ioctls, 2 not.
var pidIoctlState atomic.Int32

// noPIDIoctlTestHook, set only by tests, makes PIDInside and PIDOutside read
// NSpid as on a kernel without the ioctls.
var noPIDIoctlTestHook atomic.Bool

// errNoSuchPID is the error of a PID with no number on the other side.
type errNoSuchPID struct{ msg string }

func (e *errNoSuchPID) Error() string { return e.msg }

func (e *errNoSuchPID) Unwrap() []error { return []error{unix.ESRCH, os.ErrNotExist} }

func (h *Handle) translatePID(pid int, inside bool) (int, error) {
	release, err := h.use()
	if err != nil {
		return 0, err
	}
	defer release()
	fd, ok := h.fds.get(PID)
	if !ok {
		return 0, fmt.Errorf("the handle holds no PID namespace: %w", os.ErrInvalid)
	}
	if pid <= 0 || pid > math.MaxInt32 {
		return 0, fmt.Errorf("not a process ID: %w", os.ErrInvalid)
	}
	return pidAcross(fd, pid, inside)
}

// pidAcross translates pid into the PID namespace of fd (inside) or out of
// it into the caller's.
func pidAcross(fd, pid int, inside bool) (int, error) {
	if !noPIDIoctlTestHook.Load() && pidIoctlState.Load() != 2 {
		req, name := uintptr(nsGetPIDFromPIDNS), "NS_GET_PID_FROM_PIDNS"
		if inside {
			req, name = nsGetPIDInPIDNS, "NS_GET_PID_IN_PIDNS"
		}
		n, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(pid))
		switch e {
		case 0:
			pidIoctlState.Store(1)
			return int(n), nil
		case unix.ESRCH:
			pidIoctlState.Store(1)
			if inside {
				return 0, &errNoSuchPID{"no such process, or none in that namespace"}
			}
			return 0, &errNoSuchPID{"no such process in that namespace, or none in ours"}
		case unix.ENOTTY, unix.EINVAL:
			pidIoctlState.Store(2) // before Linux 6.11
		default:
			return 0, os.NewSyscallError("ioctl "+name, e)
		}
	}
	depth, err := pidDepth(fd)
	if err != nil {
		return 0, err
	}
	if inside {
		return pidInsideNSpid(fd, depth, pid)
	}
	return pidOutsideNSpid(fd, depth, pid)
}

// pidDepth returns how many levels below the caller's PID namespace that of
// fd is: 0 for the caller's own, 1 for a child, and so on. A namespace that
// is not the caller's or one below it is an error matching ErrNotSupported:
// NSpid does not reach it.
func pidDepth(fd int) (int, error) {
	var own, st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/pid", &own); err != nil {
		return 0, &os.PathError{Op: "stat", Path: "/proc/self/ns/pid", Err: err}
	}
	cur := fd
	defer func() {
		if cur != fd {
			unix.Close(cur)
		}
	}()
	// PID namespaces nest 32 deep at most.
	for depth := 0; depth <= 32; depth++ {
		if err := unix.Fstat(cur, &st); err != nil {
			return 0, os.NewSyscallError("fstat", err)
		}
		if st.Dev == own.Dev && st.Ino == own.Ino {
			return depth, nil
		}
		parent, err := unix.IoctlRetInt(cur, unix.NS_GET_PARENT)
		if err != nil {
			break // EPERM: the top, or the parent is beyond the caller's user namespace
		}
		if cur != fd {
			unix.Close(cur)
		}
		cur = parent
	}
	return 0, fmt.Errorf("a PID namespace that is neither the caller's nor below it: %w",
		&procfs.NotSupportedError{Feature: "ioctl NS_GET_PID_IN_PIDNS and NS_GET_PID_FROM_PIDNS", Version: "6.11"})
}

// nspid reads the NSpid line of a /proc status file: the process's numbers
// from the namespace of that /proc down to its own.
func nspid(path string) ([]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
			var out []int
			for _, f := range strings.Fields(v) {
				n, err := strconv.Atoi(f)
				if err != nil {
					return nil, fmt.Errorf("%s: NSpid %q", path, strings.TrimSpace(v))
				}
				out = append(out, n)
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("%s: no NSpid line: %w", path,
		&procfs.NotSupportedError{Feature: "NSpid in /proc/PID/status", Version: "4.1"})
}

// inNamespace reports whether the task whose /proc directory is dir, with
// numbers levels, is at level depth in the PID namespace of fd: its own
// namespace, levels-1-depth parents up, is that one.
func inNamespace(fd int, dir string, levels, depth int) bool {
	cur, err := unix.Open(dir+"/ns/pid", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	for range levels - 1 - depth {
		parent, err := unix.IoctlRetInt(cur, unix.NS_GET_PARENT)
		unix.Close(cur)
		if err != nil {
			return false
		}
		cur = parent
	}
	defer unix.Close(cur)
	var a, b unix.Stat_t
	return unix.Fstat(fd, &a) == nil && unix.Fstat(cur, &b) == nil && a.Dev == b.Dev && a.Ino == b.Ino
}

// checkOwnProc fails unless /proc shows the caller's PID namespace, from
// which NSpid counts.
func checkOwnProc() error {
	self, err := os.Readlink("/proc/self")
	if err != nil {
		return err
	}
	if self != strconv.Itoa(os.Getpid()) {
		return fmt.Errorf("/proc is of another PID namespace (/proc/self is %s, the caller %d): NSpid does not serve", self, os.Getpid())
	}
	return nil
}

// pidInsideNSpid translates pid by its NSpid line, guarded by a pidfd so
// that the line read is that of the process that pid named.
func pidInsideNSpid(fd, depth, pid int) (int, error) {
	if err := checkOwnProc(); err != nil {
		return 0, err
	}
	pidfd, err := unix.PidfdOpen(pid, unix.PIDFD_THREAD)
	if err == unix.EINVAL || err == unix.ENOSYS {
		pidfd = -1 // PIDFD_THREAD is Linux 6.9; pidfd_open 5.3
	} else if err == unix.ESRCH {
		return 0, &errNoSuchPID{"no such process"}
	} else if err != nil {
		return 0, os.NewSyscallError("pidfd_open", err)
	}
	if pidfd >= 0 {
		defer unix.Close(pidfd)
	}
	dir := "/proc/" + strconv.Itoa(pid)
	ids, err := nspid(dir + "/status")
	if os.IsNotExist(err) {
		return 0, &errNoSuchPID{"no such process"}
	}
	if err != nil {
		return 0, err
	}
	if len(ids) <= depth || !inNamespace(fd, dir, len(ids), depth) {
		return 0, &errNoSuchPID{"the process is not in that namespace"}
	}
	if pidfd >= 0 && exited(pidfd) {
		return 0, &errNoSuchPID{"the process exited"}
	}
	return ids[depth], nil
}

// pidOutsideNSpid looks for the task whose NSpid has pid at depth, in the
// namespace of fd, among every task under /proc.
func pidOutsideNSpid(fd, depth, pid int) (int, error) {
	if err := checkOwnProc(); err != nil {
		return 0, err
	}
	if depth == 0 { // the caller's own namespace: pid is its number here too
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err != nil {
			return 0, &errNoSuchPID{"no such process"}
		}
		return pid, nil
	}
	tasks, err := filepath.Glob("/proc/[0-9]*/task/[0-9]*")
	if err != nil {
		return 0, err
	}
	for _, dir := range tasks {
		ids, err := nspid(dir + "/status")
		if err != nil || len(ids) <= depth || ids[depth] != pid {
			continue // gone meanwhile, or another
		}
		if inNamespace(fd, dir, len(ids), depth) {
			return ids[0], nil
		}
	}
	return 0, &errNoSuchPID{"no such process in that namespace"}
}
