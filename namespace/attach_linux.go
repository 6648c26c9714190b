package namespace

// Attach: a host directory or file bound into a running container's mount
// namespace, as a volume plugged in while it runs.

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// Attach binds the host directory or file source (a path in the caller's
// mount namespace) at target in the handle's mount namespace, read-only if
// readOnly is set, creating target if it is missing: a directory for a
// directory, an empty file for a file, and the directories above it. The
// mounts under a source directory come with it (a recursive bind, as mount
// --rbind makes). The caller's own mounts do not change: the new mount exists
// only in the handle's namespace and in those it propagates to, as a mount
// made there would, which a container's private mounts (Spawn's default)
// never do.
//
// target is an absolute path as the container sees it: it is resolved
// inside the root directory of the process the handle was joined from (its
// /proc/PID/root), or else inside the namespace's root, the way that
// openat2(2) with RESOLVE_IN_ROOT resolves, so that neither ".." nor a
// symbolic link, absolute or not, leads out of that root. A target that
// climbs above the root by its own ".." components is an error.
//
// The source is cloned on the caller's side (open_tree(2) with
// OPEN_TREE_CLONE, Linux 5.2), made read-only there (mount_setattr(2), Linux
// 5.12), and moved into place (move_mount(2), Linux 5.2) from a thread of
// Attach's own that entered the mount namespace, which the runtime ends
// afterwards, as after Do. A kernel without one of those gives an error
// matching ErrNotSupported.
//
// Attach needs CAP_SYS_ADMIN in the caller's user namespace, for the clone
// and for entering the mount namespace; without it the error matches
// os.ErrPermission. A missing source gives an error matching
// os.ErrNotExist, and a handle without Mount or a target that is not an
// absolute path inside the root one matching os.ErrInvalid. When Attach
// fails, what it created under target is removed and nothing is mounted.
func (h *Handle) Attach(source, target string, readOnly bool) error {
	if err := h.attach(source, target, readOnly); err != nil {
		return fmt.Errorf("attach %s at %s of %s: %w", source, target, h, err)
	}
	return nil
}

func (h *Handle) attach(source, target string, readOnly bool) error {
	release, err := h.use()
	if err != nil {
		return err
	}
	defer release()
	nsfd, ok := h.fds.get(Mount)
	if !ok {
		return fmt.Errorf("the handle holds no mount namespace: %w", os.ErrInvalid)
	}
	parts, err := containerPath(target)
	if err != nil {
		return err
	}
	tree, err := unix.OpenTree(unix.AT_FDCWD, source, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return mountAPIError("open_tree", source, err, "5.2")
	}
	defer unix.Close(tree)
	var st unix.Stat_t
	if err := unix.Fstat(tree, &st); err != nil {
		return os.NewSyscallError("fstat", err)
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if readOnly {
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			return mountAPIError("mount_setattr", source, err, "5.12")
		}
	}
	root, rootDesc, err := h.processRoot(nsfd)
	if err != nil {
		return err
	}
	if root >= 0 {
		defer unix.Close(root)
	}
	onOwnThread(func() (clean bool) {
		if attachThreadTestHook != nil {
			attachThreadTestHook()
		}
		if e := unix.Unshare(unix.CLONE_FS); e != nil {
			err = os.NewSyscallError("unshare CLONE_FS", e)
			return true // nothing changed
		}
		if e := unix.Setns(nsfd, unix.CLONE_NEWNS); e != nil {
			err = h.joinError(Mount, os.NewSyscallError("setns", e))
			return false
		}
		r := root
		if r < 0 {
			// The namespace's root, where setns put the thread.
			fd, e := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if e != nil {
				err = &os.PathError{Op: "open", Path: "/", Err: e}
				return false
			}
			defer unix.Close(fd)
			r = fd
		}
		err = mountAt(tree, r, parts, isDir, rootDesc)
		return false
	})
	return err
}

// attachThreadTestHook, set only by tests, runs first on the thread that
// enters the mount namespace.
var attachThreadTestHook func()

// attachFailTestHook, set only by tests, makes Attach fail where it would
// call move_mount, after it created the target.
var attachFailTestHook bool

// containerPath splits an absolute path into its components, keeping ".."
// (which the kernel resolves inside the root, as it must through symbolic
// links) but refusing a path that climbs above the root by its own "..".
func containerPath(target string) ([]string, error) {
	if !strings.HasPrefix(target, "/") {
		return nil, fmt.Errorf("the target must be an absolute path inside the container: %w", os.ErrInvalid)
	}
	var parts []string
	depth := 0
	for _, p := range strings.Split(target, "/") {
		switch p {
		case "", ".":
			continue
		case "..":
			if depth--; depth < 0 {
				return nil, fmt.Errorf("the target climbs out of the container's root: %w", os.ErrInvalid)
			}
		default:
			depth++
		}
		parts = append(parts, p)
	}
	if depth == 0 {
		return nil, fmt.Errorf("the target is the container's root: %w", os.ErrInvalid)
	}
	return parts, nil
}

// processRoot opens the root directory of the process the handle was
// joined from, if the handle has its pidfd and the process is still in the
// namespace of nsfd; -1 otherwise, for the namespace's root.
func (h *Handle) processRoot(nsfd int) (int, string, error) {
	if !h.havePidfd {
		return -1, "the namespace's root", nil
	}
	pid, err := pidfdPID(h.pidfd)
	if err != nil {
		return -1, "the namespace's root", nil // it exited: the namespace's root serves
	}
	dir := "/proc/" + strconv.Itoa(pid)
	fd, err := unix.Open(dir+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "the namespace's root", nil
	}
	same, err := sameNamespace(nsfd, dir+"/ns/mnt")
	if err != nil || !same || exited(h.pidfd) {
		unix.Close(fd)
		return -1, "the namespace's root", nil
	}
	return fd, "the root of pid " + strconv.Itoa(pid), nil
}

// created is one file or directory that mountAt made, to remove if it fails.
type created struct {
	dir  int // the directory it is in
	name string
	flag int // unix.AT_REMOVEDIR for a directory
}

// mountAt resolves parts inside root (RESOLVE_IN_ROOT), creating what is
// missing, and moves the detached tree there. It runs on a thread in the
// target mount namespace.
//
// What is missing is created by one name in a directory resolved inside the
// root, so it lands inside too. A dangling symbolic link on the way is
// followed by hand, inside the root as the kernel would: its text takes its
// place in the path (from the root for an absolute one), and the walk goes on.
func mountAt(tree, root int, parts []string, isDir bool, rootDesc string) (err error) {
	var made []created
	var fds []int
	defer func() {
		if err != nil {
			for i := len(made) - 1; i >= 0; i-- {
				unix.Unlinkat(made[i].dir, made[i].name, made[i].flag)
			}
		}
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	resolve := func(path []string, flags uint64) (int, error) {
		if len(path) == 0 {
			return root, nil
		}
		fd, err := unix.Openat2(root, strings.Join(path, "/"), &unix.OpenHow{
			Flags:   flags | unix.O_PATH | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err == unix.ENOSYS {
			return -1, &procfs.NotSupportedError{Feature: "openat2", Version: "5.6"}
		}
		if err != nil {
			return -1, &os.PathError{Op: "openat2 in " + rootDesc, Path: "/" + strings.Join(path, "/"), Err: err}
		}
		fds = append(fds, fd)
		return fd, nil
	}
	var done []string // resolved so far, as text for the kernel to resolve again
	rest := parts
	parent := root
	for links := 0; len(rest) > 0; {
		name := rest[0]
		path := append(done[:len(done):len(done)], name)
		last := len(rest) == 1
		flags := uint64(unix.O_DIRECTORY)
		if last && !isDir {
			flags = 0
		}
		fd, err := resolve(path, flags)
		if err != nil && errors.Is(err, unix.ENOENT) && name != ".." {
			// Create it in the parent resolved so far.
			where := "/" + strings.Join(path, "/")
			var e error
			if !last || isDir {
				if e = unix.Mkdirat(parent, name, 0o755); e == nil {
					made = append(made, created{parent, name, unix.AT_REMOVEDIR})
				}
			} else {
				var f int
				if f, e = unix.Openat(parent, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644); e == nil {
					unix.Close(f)
					made = append(made, created{parent, name, 0})
				}
			}
			if e == unix.EEXIST {
				// A dangling symbolic link: follow its text.
				var buf [unix.PathMax]byte
				n, le := unix.Readlinkat(parent, name, buf[:])
				if le != nil {
					return &os.PathError{Op: "create in " + rootDesc, Path: where, Err: e}
				}
				if links++; links > 40 {
					return &os.PathError{Op: "resolve in " + rootDesc, Path: where, Err: unix.ELOOP}
				}
				text := string(buf[:n])
				if strings.HasPrefix(text, "/") {
					done, parent = nil, root
				}
				rest = append(strings.FieldsFunc(text, func(r rune) bool { return r == '/' }), rest[1:]...)
				continue
			}
			if e != nil {
				return &os.PathError{Op: "create in " + rootDesc, Path: where, Err: e}
			}
			fd, err = resolve(path, flags)
		}
		if err != nil {
			return err
		}
		done, rest, parent = path, rest[1:], fd
	}
	e := error(unix.EINVAL) // as if move_mount failed, for tests
	if !attachFailTestHook {
		e = unix.MoveMount(tree, "", parent, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	}
	if e != nil {
		return mountAPIError("move_mount", "/"+strings.Join(parts, "/"), e, "5.2")
	}
	return nil
}

// mountAPIError wraps an error of the new mount API, naming the release
// that brought the call when the kernel lacks it.
func mountAPIError(call, path string, err error, version string) error {
	if err == unix.ENOSYS {
		return fmt.Errorf("%s: %w", call, &procfs.NotSupportedError{Feature: call, Version: version})
	}
	if err == unix.EPERM && !hasCapSysAdmin() {
		return fmt.Errorf("%w (Attach needs CAP_SYS_ADMIN)", &os.PathError{Op: call, Path: path, Err: err})
	}
	return &os.PathError{Op: call, Path: path, Err: err}
}
