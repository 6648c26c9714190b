package namespace

// Mounts and the new root: the parent's plan (planMounts) and the child's
// steps (childMounts).

import (
	"errors"
	"syscall"
	"unsafe"

	"github.com/nsgo/nsgo/idmap"
	"golang.org/x/sys/unix"
)

// MountSpec is one mount that the child makes before the program runs.
type MountSpec struct {
	Source string    // a host path for a bind; otherwise the source given to mount(2)
	Target string    // where it appears; created if missing
	Type   string    // "bind", or a file system type: "tmpfs", "proc", "sysfs", "mqueue", "devpts", ...
	Flags  uintptr   // MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, ...
	Data   string    // file system options, e.g. "size=64m,mode=0755"
	UIDMap idmap.Map // an idmapped bind mount (Linux 5.12+): files owned by Outside IDs appear as Inside IDs
	GIDMap idmap.Map
}

// Propagation is how mounts propagate between a new mount namespace and the
// caller's, as unshare(1)'s --propagation option says.
type Propagation int

const (
	PropagationPrivate   Propagation = iota // MS_REC|MS_PRIVATE: nothing propagates either way (the default)
	PropagationSlave                        // MS_REC|MS_SLAVE: the caller's new mounts reach the program, not back
	PropagationShared                       // MS_REC|MS_SHARED: mounts propagate both ways
	PropagationUnchanged                    // leave propagation as the copy of the caller's namespace has it
)

// Steps of the mount family, as reported through the error pipe.
const (
	stepMountPrivate uint32 = 100 + iota
	stepMountProc
)

// mountPlan is what the child needs for its mounts.
type mountPlan struct {
	mountPrivate bool
	mountProc    bool
}

// planMounts checks the mount options and fills the plan.
func (s *spawn) planMounts() error {
	o, p := s.opts, &s.plan
	if o.Root != "" || len(o.Mounts) > 0 || o.Propagation != PropagationPrivate {
		return errors.New("Root, Mounts and Propagation: not implemented yet")
	}
	p.mnt.mountPrivate = o.New.Has(Mount)
	p.mnt.mountProc = o.MountProc
	return nil
}

// mountStepName names a step of the mount family, or returns "".
func (s *spawn) mountStepName(step, idx uint32) string {
	switch step {
	case stepMountPrivate:
		return "make / private (mount MS_REC|MS_PRIVATE)"
	case stepMountProc:
		return "mount /proc"
	}
	return ""
}

// childMounts sets the propagation, makes the mounts and the new root, and
// mounts /proc.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childMounts(p *childPlan) {
	var e syscall.Errno
	if p.mnt.mountPrivate {
		if _, _, e = syscall.RawSyscall6(syscall.SYS_MOUNT, 0, uintptr(unsafe.Pointer(&strSlash[0])), 0, unix.MS_REC|unix.MS_PRIVATE, 0, 0); e != 0 {
			childFail(p, stepMountPrivate, e)
		}
	}
	if p.mnt.mountProc {
		if _, _, e = syscall.RawSyscall6(syscall.SYS_MOUNT, uintptr(unsafe.Pointer(&strProc[0])), uintptr(unsafe.Pointer(&strProcDir[0])), uintptr(unsafe.Pointer(&strProc[0])), unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, 0, 0); e != 0 {
			childFail(p, stepMountProc, e)
		}
	}
}
