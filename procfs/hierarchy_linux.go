package procfs

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// The ioctl_ns(2) requests, _IO(0xb7, n).
const (
	nsGetUserns   = 0xb701 // Linux 4.9
	nsGetParent   = 0xb702 // Linux 4.9
	nsGetNstype   = 0xb703 // Linux 4.11
	nsGetOwnerUID = 0xb704 // Linux 4.11
)

// Hierarchy is what ioctl_ns(2) tells about one namespace.
type Hierarchy struct {
	// Owner is the user namespace that owns the namespace; for a user
	// namespace, its parent.
	Owner ID
	// Parent is the parent namespace of a PID or user namespace; zero for
	// the other kinds and for a namespace whose parent is outside the
	// caller's view.
	Parent ID
	// OwnerUID is the user ID, in the caller's user namespace, of the process
	// that created a user namespace; -1 for other kinds.
	OwnerUID int
}

// ReadHierarchy asks the kernel for the owner and parent of the namespace
// open at fd, whose kind is kind. Requests the kernel lacks give an error
// matching ErrNotSupported; a parent or owner outside the caller's user
// namespace is left zero.
func ReadHierarchy(fd int, kind Kind) (Hierarchy, error) {
	h := Hierarchy{OwnerUID: -1}
	owner, err := relative(fd, nsGetUserns, "NS_GET_USERNS")
	switch {
	case err == nil:
		h.Owner = owner
	case errors.Is(err, unix.EPERM):
		// Owned by a namespace above ours: nothing to show.
	default:
		return h, err
	}
	if kind == User || kind == PID {
		parent, err := relative(fd, nsGetParent, "NS_GET_PARENT")
		if err == nil {
			h.Parent = parent
		} else if !errors.Is(err, unix.EPERM) {
			return h, err
		}
	}
	if kind == User {
		var uid uint32
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), nsGetOwnerUID, uintptr(ptr(&uid))); e != 0 {
			return h, ioctlError("NS_GET_OWNER_UID", "4.11", e)
		}
		h.OwnerUID = int(uid)
	}
	return h, nil
}

// relative runs NS_GET_USERNS or NS_GET_PARENT on fd and returns the ID of the
// namespace it opens.
func relative(fd int, req uintptr, name string) (ID, error) {
	r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, 0)
	if e != 0 {
		return ID{}, ioctlError(name, "4.9", e)
	}
	defer unix.Close(int(r))
	return StatFD(int(r))
}

// KindOf returns the kind of the namespace open at fd (NS_GET_NSTYPE, Linux
// 4.11).
func KindOf(fd int) (Kind, error) {
	r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), nsGetNstype, 0)
	if e != 0 {
		return 0, ioctlError("NS_GET_NSTYPE", "4.11", e)
	}
	return Kind(r), nil
}

func ioctlError(name, version string, e unix.Errno) error {
	if e == unix.ENOTTY || e == unix.ENOSYS {
		return fmt.Errorf("ioctl %s: %w", name, &NotSupportedError{Feature: "ioctl " + name, Version: version})
	}
	return fmt.Errorf("ioctl %s: %w", name, e)
}
