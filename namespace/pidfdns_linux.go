package namespace

import (
	"fmt"
	"os"
	"sync"

	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// Where the kernel has the ioctls PIDFD_GET_KIND_NAMESPACE (Linux 6.11), Join
// and Current open every namespace through a pidfd of the process: one
// ioctl(2) per kind, nothing under /proc. That works whatever /proc is (not
// mounted, mounted hidepid=2 or subset=pid, or the proc of another PID
// namespace, whose /proc/PID names another process), and leaves no window
// between the pidfd and the namespaces in which the PID could be reused.
// The ioctl checks the same rights as an open of /proc/PID/ns/KIND: those of
// ptrace(2) over the process (EACCES without them), and fails with ESRCH
// once the process exited, zombie or gone.

// havePidfdNS reports, once, whether the kernel has the ioctls: a kernel
// before 6.11 answers ENOTTY (pidfds had no ioctls) or EINVAL.
var havePidfdNS = sync.OnceValue(func() bool {
	pidfd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		return false
	}
	defer unix.Close(pidfd)
	for k := range procfs.Supported().Each() {
		r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(pidfd), procfs.PidfdRequest(k, false), 0)
		if e == 0 {
			unix.Close(int(r))
			return true
		}
		if e == unix.ENOTTY || e == unix.EINVAL {
			return false
		}
		// EOPNOTSUPP: a kind built out of this kernel; try the next.
	}
	return false
})

// procNSTestHook, set only by tests, makes Join and Current open the
// namespaces under /proc, as on a kernel before 6.11.
var procNSTestHook bool

// viaPidfd reports whether Join and Current open namespaces through a pidfd.
func viaPidfd() bool { return !procNSTestHook && havePidfdNS() }

// openPidfd opens every kind of kinds that the process of pidfd is in, before
// any is used, into a Handle described by desc, whose identities are read
// when first needed (see Handle.identities). An exited process gives an
// error matching os.ErrNotExist and os.ErrProcessDone.
//
// With desc empty, the Handle is process pid's, described as "pid PID".
func openPidfd(pid int, desc string, pidfd int, kinds Kind) (*Handle, error) {
	h := &Handle{desc: desc, pid: pid, kinds: kinds}
	for k := range kinds.Each() {
		// A raw system call: the ioctl waits on no other process (a
		// spinlock, the ptrace check, a new file), and Join makes one per
		// kind.
		r, _, e := unix.RawSyscall(unix.SYS_IOCTL, uintptr(pidfd), procfs.PidfdRequest(k, false), 0)
		if e != 0 {
			h.Close()
			err := error(os.NewSyscallError("ioctl "+pidfdRequestName(k), e))
			switch e {
			case unix.ESRCH:
				return nil, fmt.Errorf("%s %s: the process exited: %w", h.what(), k, &notThere{err: err, done: true})
			case unix.EOPNOTSUPP:
				err = procfs.KindNotSupported(k)
			}
			return nil, fmt.Errorf("%s %s: %w", h.what(), k, err)
		}
		h.fds.set(k, int(r))
	}
	return h, nil
}

// pidfdRequestName names the ioctl that opens kind k through a pidfd.
func pidfdRequestName(k Kind) string {
	names := map[Kind]string{Mount: "MNT", UTS: "UTS", IPC: "IPC", Net: "NET", PID: "PID", User: "USER", Cgroup: "CGROUP", Time: "TIME"}
	return "PIDFD_GET_" + names[k] + "_NAMESPACE"
}
