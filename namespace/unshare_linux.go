package namespace

import (
	"errors"
	"fmt"
	"io/fs"
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

// Bind gives the handle's namespace of the given kind (one kind) a name in
// the file system, as `ip netns add` does: it bind-mounts the namespace on
// path, made as an empty file if missing, so that the namespace lives on
// without any process or handle until Unbind. Handles for it come from
// FromPath.
//
// The directory holding path is made first if missing, with its missing
// parents, mode 0755 less the umask, as `ip netns add` makes /run/netns.
// Then it is made a mount point with shared propagation (bound on itself if
// it is none; left alone if shared already), so that the bind mount, and
// later its removal, reach every mount namespace that is a copy of this one: a
// bind mount made under a private mount would live on in copies made meanwhile
// and keep the namespace alive after Unbind. It needs CAP_SYS_ADMIN over the
// caller's mount namespace.
//
// A Bind that fails leaves nothing that it made: no file, no directory, no
// mount (a directory it bound on itself is unmounted again). A directory
// that was a mount point already keeps the shared propagation it was given.
// Unbind removes the file and its mount, never the directories.
func (h *Handle) Bind(kind Kind, path string) error {
	if kind == 0 || kind&(kind-1) != 0 {
		return fmt.Errorf("bind %s to %s: one kind at a time: %w", kind, path, os.ErrInvalid)
	}
	release, err := h.use()
	if err != nil {
		return fmt.Errorf("bind %s to %s: %w", kind, path, err)
	}
	defer release()
	fd, ok := h.fds.get(kind)
	if !ok {
		return fmt.Errorf("bind %s %s to %s: the handle holds no %s namespace (it holds %s)", h.what(), kind, path, kind, h.kinds)
	}
	var made []string // directories made, outermost first
	var bound string  // the directory bound on itself
	fail := func(err error) error {
		if bound != "" {
			unix.Unmount(bound, unix.MNT_DETACH)
		}
		for i := len(made) - 1; i >= 0; i-- {
			os.Remove(made[i])
		}
		return fmt.Errorf("bind %s %s to %s: %w", h.what(), kind, path, err)
	}
	dir := filepath.Dir(path)
	if made, err = mkdirs(dir); err != nil {
		return fail(err)
	}
	if bound, err = shareDir(dir); err != nil {
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

// mkdirs makes dir and its missing parents, mode 0755, and returns those it
// made, outermost first. On failure it removes them again.
func mkdirs(dir string) ([]string, error) {
	var missing []string // innermost first
	for d := dir; ; d = filepath.Dir(d) {
		_, err := os.Lstat(d)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	var made []string
	for i := len(missing) - 1; i >= 0; i-- {
		err := os.Mkdir(missing[i], 0o755)
		if errors.Is(err, fs.ErrExist) {
			continue // made by another meanwhile: not ours to remove
		}
		if err != nil {
			for j := len(made) - 1; j >= 0; j-- {
				os.Remove(made[j])
			}
			return nil, err
		}
		made = append(made, missing[i])
	}
	return made, nil
}

// shareDir makes dir a mount point with shared propagation, and returns dir
// if it bound dir on itself to that end, "" if dir was a mount point already.
func shareDir(dir string) (bound string, err error) {
	err = unix.Mount("", dir, "", unix.MS_SHARED|unix.MS_REC, "")
	if !errors.Is(err, unix.EINVAL) {
		return "", os.NewSyscallError("mount --make-rshared "+dir, err) // nil stays nil
	}
	// Not a mount point: make it one, then share it.
	if err := unix.Mount(dir, dir, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return "", os.NewSyscallError("mount --rbind "+dir, err)
	}
	if err := unix.Mount("", dir, "", unix.MS_SHARED|unix.MS_REC, ""); err != nil {
		unix.Unmount(dir, unix.MNT_DETACH)
		return "", os.NewSyscallError("mount --make-rshared "+dir, err)
	}
	return dir, nil
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
