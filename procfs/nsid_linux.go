package procfs

import (
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A namespace's identity on Linux 6.18 and later comes from its nsfs file
// handle: name_to_handle_at(2) on a namespace file returns, in one system
// call, the 16 bytes of struct nsfs_file_handle (include/uapi/linux/nsfs.h),
// which hold the namespace's 64-bit ID (the value of ioctl NS_GET_ID), its
// kind and its inode number. Before 6.18 nsfs has no file handles (the call
// fails with EOPNOTSUPP) and no NS_GET_ID, and an identity is what stat(2)
// gives: the device and inode number.

// fileIDNsfs is the kernel's handle type for nsfs (FILEID_NSFS).
const fileIDNsfs = 0xf1

// nsfsHandle is the 16 bytes of an nsfs file handle, in the kernel's
// layout (struct nsfs_file_handle).
type nsfsHandle struct {
	NSID uint64 // the namespace ID, as ioctl NS_GET_ID gives it
	Type uint32 // the kind, a CLONE_NEW* flag
	Ino  uint32 // the inode number
}

// fileHandle is struct file_handle with room for an nsfs handle and more.
type fileHandle struct {
	bytes uint32
	typ   int32
	f     [32]byte
}

// nameToHandle runs name_to_handle_at(2) on name in dir (AT_EMPTY_PATH when
// name is "") and returns the nsfs handle; a file that is not a namespace
// gives an error saying so.
func nameToHandle(dir int, name string, follow bool) (nsfsHandle, error) {
	var buf [256]byte
	path := &buf[0]
	if len(name) < len(buf) && !strings.Contains(name, "\x00") {
		copy(buf[:], name) // the short names of /proc, without allocating
	} else {
		p, err := unix.BytePtrFromString(name)
		if err != nil {
			return nsfsHandle{}, err
		}
		path = p
	}
	flags := 0
	switch {
	case name == "":
		flags = unix.AT_EMPTY_PATH
	case follow:
		flags = unix.AT_SYMLINK_FOLLOW
	}
	fh := fileHandle{bytes: uint32(len(fileHandle{}.f))}
	var mountID int32
	call := unix.Syscall6
	if name == "" {
		// A raw system call for a descriptor, which no path walk can
		// make wait (a path may lead through a network file system).
		call = unix.RawSyscall6
	}
	_, _, e := call(unix.SYS_NAME_TO_HANDLE_AT, uintptr(dir), uintptr(unsafe.Pointer(path)),
		uintptr(unsafe.Pointer(&fh)), uintptr(unsafe.Pointer(&mountID)), uintptr(flags), 0)
	if e == unix.EOVERFLOW {
		return nsfsHandle{}, errNotNamespace // a bigger handle than nsfs makes
	}
	if e != 0 {
		return nsfsHandle{}, e
	}
	if fh.typ != fileIDNsfs || fh.bytes < 16 {
		return nsfsHandle{}, errNotNamespace
	}
	return *(*nsfsHandle)(unsafe.Pointer(&fh.f[0])), nil
}

var errNotNamespace = errors.New("not a namespace file")

// nsfsInfo is what the first look at a namespace file found: the nsfs device
// and whether nsfs has file handles.
type nsfsInfo struct {
	dev     uint64
	handles bool
}

// probeNsfs looks once at one namespace file: one that a pidfd of the
// process gives (Linux 6.11), which needs no /proc, or else
// /proc/self/ns/KIND.
var probeNsfs = sync.OnceValues(func() (nsfsInfo, error) {
	fd, err := anyNamespaceFD()
	if err != nil {
		return nsfsInfo{}, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nsfsInfo{}, os.NewSyscallError("fstat", err)
	}
	h, err := nameToHandle(fd, "", false)
	return nsfsInfo{dev: st.Dev, handles: err == nil && uint64(h.Ino) == st.Ino}, nil
})

// noHandlesTestHook, set only by tests, makes procfs behave as on a kernel
// without nsfs file handles.
var noHandlesTestHook atomic.Bool

// anyNamespaceFD opens a namespace of the calling process: through a pidfd
// where the kernel has the ioctls, else by its /proc/self/ns link.
func anyNamespaceFD() (int, error) {
	if pidfd, err := unix.PidfdOpen(os.Getpid(), 0); err == nil {
		defer unix.Close(pidfd)
		for _, e := range kinds {
			if fd, err := pidfdNamespace(pidfd, e.kind); err == nil {
				return fd, nil
			}
		}
	}
	for _, e := range kinds {
		fd, err := unix.Open("/proc/self/ns/"+e.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			return fd, nil
		}
	}
	return -1, &NotSupportedError{Feature: "namespaces"}
}

// pidfdNamespace opens the namespace of kind k that the process of pidfd is in
// (ioctl PIDFD_GET_KIND_NAMESPACE, Linux 6.11).
func pidfdNamespace(pidfd int, k Kind) (int, error) {
	r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(pidfd), PidfdRequest(k, false), 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// PidfdRequest returns the ioctl(2) request that opens, through a pidfd, the
// namespace of kind k (a single kind) that the process is in, or with
// children set the one its children will be in (PID and Time only):
// PIDFD_GET_NET_NAMESPACE and the rest, Linux 6.11. It returns 0 for
// anything else.
func PidfdRequest(k Kind, children bool) uintptr {
	const magic = 0xff << 8 // _IO(PIDFS_IOCTL_MAGIC, n)
	var n uintptr
	switch k {
	case Cgroup:
		n = 1
	case IPC:
		n = 2
	case Mount:
		n = 3
	case Net:
		n = 4
	case PID:
		n = 5
	case Time:
		n = 7
	case User:
		n = 9
	case UTS:
		n = 10
	default:
		return 0
	}
	if children {
		if k != PID && k != Time {
			return 0
		}
		n++
	}
	return magic | n
}

// HaveNSID reports whether the running kernel gives namespaces 64-bit IDs
// that are never reused (NS_GET_ID and nsfs file handles, Linux 6.18):
// then every ID that nsgo returns has NSID set. The answer is computed once.
func HaveNSID() bool {
	info, err := probeNsfs()
	return err == nil && info.handles && !noHandlesTestHook.Load()
}

// StatFD returns the identity of the namespace open at fd: a descriptor
// from open(2) of a namespace file, from ioctl_ns(2) or from a pidfd's
// PIDFD_GET_KIND_NAMESPACE. On Linux 6.18 it reads the namespace's file
// handle, one system call, for the NSID as well; before, it is fstat(2). A
// descriptor on another file gives that file's device and inode number.
func StatFD(fd int) (ID, error) {
	info, err := probeNsfs()
	if err != nil {
		return ID{}, err
	}
	if HaveNSID() {
		h, err := nameToHandle(fd, "", false)
		if err == nil {
			return ID{Dev: info.dev, Ino: uint64(h.Ino), NSID: h.NSID}, nil
		}
		if err != unix.EOPNOTSUPP && err != errNotNamespace {
			return ID{}, os.NewSyscallError("name_to_handle_at", err)
		}
	}
	// Before 6.18, or a file that is not a namespace: its device and
	// inode number.
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return ID{}, os.NewSyscallError("fstat", err)
	}
	return ID{Dev: st.Dev, Ino: st.Ino}, nil
}

// idAt returns the identity of the namespace file name, relative to dir,
// following a /proc namespace link to its nsfs file.
func idAt(dir int, name string) (ID, error) {
	info, err := probeNsfs()
	if err != nil {
		return ID{}, err
	}
	if HaveNSID() {
		h, err := nameToHandle(dir, name, true)
		switch {
		case err == nil:
			return ID{Dev: info.dev, Ino: uint64(h.Ino), NSID: h.NSID}, nil
		case err != unix.EOPNOTSUPP && err != errNotNamespace:
			return ID{}, &os.PathError{Op: "name_to_handle_at", Path: name, Err: err}
		}
		// A file of another file system: stat says what it is.
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dir, name, &st, 0); err != nil {
		return ID{}, &os.PathError{Op: "stat", Path: name, Err: err}
	}
	return ID{Dev: st.Dev, Ino: st.Ino}, nil
}
