package namespace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// unshareable are the kinds that a thread of a Go process can create for
// itself.
const unshareable = Net | UTS | IPC | Cgroup | Mount

// Unshare creates new namespaces of the given kinds without a process, and
// returns a handle that pins them: a throwaway network namespace for a test,
// say. It takes the kinds that a thread can create: Net, UTS, IPC, Cgroup
// and Mount (made private at once, as unshare(1) does); for PID, User and
// Time namespaces, which need a process, use Spawn. The namespaces are made
// on a thread that is then discarded, so the caller's threads never enter
// them. It needs CAP_SYS_ADMIN.
func Unshare(kinds Kind) (*Handle, error) {
	if err := checkKinds(kinds); err != nil {
		return nil, fmt.Errorf("unshare: %w", err)
	}
	if kinds&^unshareable != 0 {
		return nil, fmt.Errorf("unshare %s: a thread can create only %s namespaces: use Spawn", kinds&^unshareable, unshareable)
	}
	var h *Handle
	var err error
	onOwnThread(func() (clean bool) {
		flags := int(kinds)
		if kinds.Has(Mount) {
			flags |= unix.CLONE_FS
		}
		if err = unix.Unshare(flags); err != nil {
			err = fmt.Errorf("unshare %s: %w", kinds, os.NewSyscallError("unshare", err))
			return true // unshare changes all or nothing
		}
		if kinds.Has(Mount) {
			if err = unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
				err = fmt.Errorf("unshare %s: make / private: %w", kinds, os.NewSyscallError("mount", err))
				return false
			}
		}
		h, err = open("unshare", "/proc/thread-self/ns/", kinds)
		if err != nil {
			err = fmt.Errorf("unshare %w", err)
		}
		return false // the thread is in the new namespaces: discard it
	})
	return h, err
}

// Bind gives the handle's namespace of the given kind a name in the file
// system, as `ip netns add` does: it bind-mounts the namespace on path, made
// as an empty file if missing, so that the namespace lives on without any
// process or handle until Unbind. Handles for it come from FromPath.
//
// The directory holding path is made a mount point with shared propagation
// first (bound on itself if it is none; left alone if shared already), so that
// the bind mount, and later its removal, reach every mount namespace that is
// a copy of this one: a bind mount made under a private mount would live on in
// copies made meanwhile and keep the namespace alive after Unbind. It needs
// CAP_SYS_ADMIN over the caller's mount namespace.
func (h *Handle) Bind(kind Kind, path string) error {
	release, err := h.use()
	if err != nil {
		return err
	}
	defer release()
	fd, ok := h.fds[kind]
	if !ok {
		return fmt.Errorf("bind %s %s to %s: the handle holds no %s namespace (it holds %s)", h.desc, kind, path, kind, h.kinds)
	}
	fail := func(err error) error { return fmt.Errorf("bind %s %s to %s: %w", h.desc, kind, path, err) }
	if err := shareDir(filepath.Dir(path)); err != nil {
		return fail(err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return fail(err)
	}
	f.Close()
	src := fmt.Sprintf("/proc/self/fd/%d", fd)
	if err := unix.Mount(src, path, "", unix.MS_BIND, ""); err != nil {
		os.Remove(path)
		return fail(os.NewSyscallError("mount", err))
	}
	return nil
}

// shareDir makes dir a mount point with shared propagation.
func shareDir(dir string) error {
	err := unix.Mount("", dir, "", unix.MS_SHARED|unix.MS_REC, "")
	if !errors.Is(err, unix.EINVAL) {
		return os.NewSyscallError("mount --make-rshared "+dir, err) // nil stays nil
	}
	// Not a mount point: make it one, then share it.
	if err := unix.Mount(dir, dir, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return os.NewSyscallError("mount --rbind "+dir, err)
	}
	if err := unix.Mount("", dir, "", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
		return os.NewSyscallError("mount --make-rshared "+dir, err)
	}
	return nil
}

// Unbind removes a name that Bind gave a namespace: it detaches the bind
// mount and removes the file. The namespace ends when nothing else holds it.
func Unbind(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unbind %s: %w", path, os.NewSyscallError("umount", err))
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("unbind %w", err)
	}
	return nil
}
