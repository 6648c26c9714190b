package namespace

// Mounts and the new root: the parent's plan (planMounts) and the child's
// steps (childMounts).

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// MountSpec is one entry of Options.Mounts: a mount that the child makes
// before the program runs, or a directory or symbolic link it creates.
//
// Target is an absolute path in the new root (Options.Root), or in the
// current root when Root is empty. It is resolved as the program will see
// it, inside that root: with openat2(2) and RESOLVE_IN_ROOT, so that
// neither a symbolic link nor ".." can lead out of it (a link to
// "../../etc" is the root's own /etc); a Target with a ".." component is an
// error. Missing components are created, directories with mode 0755 (less
// the umask), and the last one as an empty file when a bind's Source is not
// a directory; what was created stays. Nothing is created through a
// symbolic link: one that names a missing path in the root is an error
// (EEXIST). Linux 5.6.
//
// Type says what the entry is:
//
//   - "bind": a bind mount of Source, a path in the caller's mount
//     namespace (see below), recursive (every mount under Source too) if
//     Flags has MS_REC. MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC and the
//     atime flags are then set on the new mount with mount_setattr(2)
//     (Linux 5.12), which only adds them: the flags that the kernel locks
//     on mounts that a less privileged user namespace received stay set.
//     A bind in a new user namespace must have MS_REC when Source has
//     mounts under it, as bind mounts there must. With UIDMap or GIDMap it
//     is an idmapped mount.
//   - "dir": a directory at Target (created with its parents if missing).
//   - "symlink": a symbolic link at Target whose text is Source; its
//     parents are created if missing, and an existing Target is an error.
//   - "file": a regular file at Target holding Contents (bwrap's --file),
//     with mode Mode (0666 if 0, as bwrap's); an existing file is
//     truncated and rewritten, keeping its mode; a symbolic link at
//     Target is an error (ELOOP).
//   - "bind" with an empty Source and Contents not nil: a bind of a new
//     file holding Contents (bwrap's --bind-data, or --ro-bind-data with
//     MS_RDONLY), with mode Mode (0600 if 0, as bwrap's), on a tmpfs of
//     its own that nothing else reaches; Linux 6.15 (open_tree(2) of a
//     file on a detached mount).
//   - "chmod": Mode set on the existing Target, resolved inside the root,
//     after the entries before it (bwrap's --chmod); Mode 0 is mode 0000.
//     Linux 6.6 (fchmodat2(2) with AT_EMPTY_PATH).
//   - "remount": MS_RDONLY added to the existing mount at Target, not to
//     the mounts under it (bwrap's --remount-ro); Target must be a mount
//     point (EINVAL otherwise). Flags must be MS_RDONLY or 0.
//
// Mode is the mode of what an entry creates: the directory of a "dir"
// (bwrap's --perms with --dir; 0755 if 0; an existing one keeps its
// mode), the file of a "file" or of a bind of Contents; the permission
// bits with os.ModeSetuid, os.ModeSetgid and os.ModeSticky, nothing else
// (the kernel clears the set-ID bits of a file that a writer without
// CAP_FSETID over it writes, as the child writes Contents).
// A Mode of 0 is the entry's default; NoPermissions asks for mode 0000
// (bwrap's --perms 0).
// ParentMode, if not 0, is the mode of the missing parent directories
// that the entry creates (bwrap makes them 0755 less the group and other
// bits that the entry's mode lacks: 0700 for its binds). Both are exact,
// without the umask, as bwrap's are, which sets the umask to 0 for its
// setup; the defaults (0755 parents, 0644 empty files for binds) are less
// the caller's umask.
//   - anything else is a file system type ("tmpfs", "proc", "sysfs",
//     "mqueue", "devpts", ...) mounted with the new mount API: fsopen(2),
//     one fsconfig(2) for Source (if not empty) and one for each
//     comma-separated option of Data ("key=value", or a flag "key"),
//     fsmount(2) with Flags (MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, the
//     atime flags, MS_NOSYMFOLLOW) and move_mount(2) (Linux 5.2). A value
//     cannot contain a comma.
//
// Entries that mount nothing are Types of their own, so that others (bwrap's
// --file, --chmod or --remount-ro, say) can join them.
//
// Every bind Source is opened (open_tree(2) with OPEN_TREE_CLONE, Linux
// 5.2), and every file system is created, before anything is mounted: all
// of them are resolved in the caller's view of the file system (as bwrap's
// sources are), in the child's new mount namespace, which starts as a copy
// of the caller's (of the joined one, with Handle.Spawn); an idmapped bind
// is opened by the caller itself (see UIDMap). Only then are they attached, in order, each Target
// resolved after the entries before it are in place, so that one can mount
// on a directory that an earlier entry made or mounted.
//
// A MountSpec with Target "/" makes the new root itself (bwrap's model,
// where the root is an empty tmpfs that the Mounts fill): it must be the
// first of Mounts, a bind or a file system. It is mounted on Root, or,
// when Root is empty, on top of the current root of the child's mount
// namespace, and the child then pivots into it as into Root; nothing of
// the caller's file system is left visible but what Mounts bring in
// (see ExampleSpawn_sandbox). DevMounts gives the entries of a minimal /dev.
type MountSpec struct {
	Source string  // a host path for a bind; the link's text for a symlink; otherwise the source given to the file system
	Target string  // where it appears, in the new root; created if missing
	Type   string  // "bind", "dir", "symlink", "file", "chmod", "remount", or a file system type: "tmpfs", "proc", "sysfs", "mqueue", "devpts", ...
	Flags  uintptr // MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC (binds), MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME, MS_NOSYMFOLLOW
	Data   string  // file system options, e.g. "size=64m,mode=0755"

	// Mode and ParentMode are the modes of what the entry creates: see
	// above. Contents is the data of a "file", or of a "bind" without
	// Source.
	Mode       os.FileMode
	ParentMode os.FileMode
	Contents   []byte

	// UIDMap and GIDMap, if either is set, make a bind an idmapped mount
	// (mount_setattr(2) with MOUNT_ATTR_IDMAP, Linux 5.12) through a user
	// namespace with these maps (see NewUserNamespace): the owner stored on
	// disk is read as an Inside ID and shown as the Outside ID it maps to,
	// and a file created through the mount is stored with the Inside ID.
	// With the program's own maps (say {0, 100000, 65536}), files that root
	// owns on disk appear owned by the program's root. IDs a map leaves out
	// show as the overflow ID, 65534, and cannot be written. The caller
	// opens such a bind itself, in its own mount namespace, before the
	// clone, so that it works whether or not the program gets a new user
	// namespace; it needs CAP_SYS_ADMIN over the file system (host root, for
	// a host file system), and a file system that supports idmapped mounts.
	UIDMap idmap.Map
	GIDMap idmap.Map
}

// NoPermissions, as a MountSpec's Mode or ParentMode, is mode 0000: no
// permission bits for anyone, which a Mode of 0 cannot say, as 0 asks for
// the entry's default.
const NoPermissions os.FileMode = os.ModeIrregular

// modeExactZero is NoPermissions in a mountOp's modes, where 0 is the
// default: a bit above the permission bits, which the child masks off.
const modeExactZero = 0o10000

// DevMounts returns the Mounts entries that make a minimal /dev at target,
// as bwrap's --dev does: a tmpfs (mode 0755, nosuid, nodev); the device
// nodes null, zero, full, random, urandom and tty bound from the caller's
// /dev (nosuid); the symbolic links stdin, stdout, stderr (to
// /proc/self/fd/0, 1, 2), fd (to /proc/self/fd) and core (to /proc/kcore);
// a directory shm, on the tmpfs, for shm_open(3); and pts, a new instance
// of devpts (newinstance, ptmxmode=0666, mode=620; nosuid, noexec), with
// ptmx a link to pts/ptmx. The links to /proc work once /proc is mounted
// (Options.MountProc).
func DevMounts(target string) []MountSpec {
	t := strings.TrimRight(target, "/")
	ms := []MountSpec{{Source: "tmpfs", Target: target, Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV, Data: "mode=0755"}}
	for _, n := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		ms = append(ms, MountSpec{Source: "/dev/" + n, Target: t + "/" + n, Type: "bind", Flags: unix.MS_NOSUID})
	}
	for i, n := range []string{"stdin", "stdout", "stderr"} {
		ms = append(ms, MountSpec{Source: fmt.Sprintf("/proc/self/fd/%d", i), Target: t + "/" + n, Type: "symlink"})
	}
	return append(ms,
		MountSpec{Source: "/proc/self/fd", Target: t + "/fd", Type: "symlink"},
		MountSpec{Source: "/proc/kcore", Target: t + "/core", Type: "symlink"},
		MountSpec{Target: t + "/shm", Type: "dir"},
		MountSpec{Source: "devpts", Target: t + "/pts", Type: "devpts", Flags: unix.MS_NOSUID | unix.MS_NOEXEC, Data: "newinstance,ptmxmode=0666,mode=620"},
		MountSpec{Source: "pts/ptmx", Target: t + "/ptmx", Type: "symlink"},
	)
}

// Propagation is how mounts propagate between a new mount namespace and the
// caller's, as unshare(1)'s --propagation option says.
type Propagation int

const (
	PropagationPrivate   Propagation = iota // MS_REC|MS_PRIVATE: nothing propagates either way (the default)
	PropagationSlave                        // MS_REC|MS_SLAVE: the caller's new mounts reach the program, not back
	PropagationShared                       // MS_REC|MS_SHARED: mounts propagate both ways
	PropagationUnchanged                    // leave propagation as the copy of the caller's namespace has it; with a new root, only with a new user namespace
)

// String returns the name unshare(1) gives the propagation.
func (p Propagation) String() string {
	switch p {
	case PropagationPrivate:
		return "private"
	case PropagationSlave:
		return "slave"
	case PropagationShared:
		return "shared"
	case PropagationUnchanged:
		return "unchanged"
	}
	return fmt.Sprintf("Propagation(%d)", int(p))
}

// Steps of the mount family, as reported through the error pipe. Steps on
// one entry report its index in plan.mnt.ops, and for a path component or
// a file system option, that number plus one times 1<<16.
const (
	stepMountPrivate uint32 = 100 + iota
	stepMountProc
	stepMountOpenTree
	stepMountSetattr
	stepMountFsopen
	stepMountFsconfig
	stepMountCreateFS
	stepMountFsmount
	stepMountResolve
	stepMountCreate
	stepMountMove
	stepMountSymlink
	stepMountOpenRoot
	stepMountAttachRoot
	stepMountPivot
	stepMountDetachOld
	stepMountFile     // create a "file" (openat O_CREAT|O_TRUNC|O_NOFOLLOW)
	stepMountWrite    // write Contents
	stepMountDataFile // create the file of a bind of Contents on its tmpfs
	stepMountDataTree // open_tree of that file
	stepMountChmod    // fchmodat2 of a "chmod"
	stepMountRemount  // mount_setattr MOUNT_ATTR_RDONLY of a "remount"
)

// Kinds of mountOp.
const (
	opBind    uint8 = iota + 1 // open_tree in the child, move_mount
	opBindFd                   // a bind the parent opened (idmapped): move_mount
	opFS                       // fsopen, fsconfig, fsmount, move_mount
	opDir                      // mkdirat
	opSymlink                  // symlinkat
	opFile                     // a regular file with data
	opData                     // a bind of a new file with data, on a tmpfs of its own
	opChmod                    // fchmodat2
	opRemount                  // mount_setattr MOUNT_ATTR_RDONLY, not recursive
)

// mountOp is one entry the child makes, prepared by the parent.
type mountOp struct {
	kind      uint8
	file      bool  // the target is a file: an empty one is created if missing
	source    *byte // bind: the host path; symlink: the link's text
	fstype    *byte // file system type
	params    []fsParam
	treeFlags uintptr // open_tree flags: OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC [|AT_RECURSIVE]
	setattr   bool    // mount_setattr(attr) after open_tree
	attrAt    uintptr // its flags: AT_EMPTY_PATH [|AT_RECURSIVE]
	attr      unix.MountAttr
	fsAttrs   uintptr // fsmount's MOUNT_ATTR_* flags
	// path holds every prefix of Target, relative and NUL-terminated:
	// "a\x00a/b\x00a/b/c\x00"; comps[k] gives the offsets in path of the
	// k-th prefix and of its last component, its name in its parent.
	path  []byte
	comps []mountComp
	n     int // how many of comps to open: all, or all but the last for a symlink or a file
	// mode is the mode of a file or a chmod, exact (the child clears its
	// umask meanwhile); dirMode and parentMode, if not 0, the exact modes
	// of the last component, when it is a directory that the child
	// creates, and of the others (modeExactZero for mode 0000). data is a file's contents.
	mode, dirMode, parentMode uintptr
	data                      []byte
	noCreate                  bool // a missing component is an error (chmod, remount)
	dataMnt                   int  // the child's: the tmpfs of a bind of Contents
	fd                        int  // the detached mount, written by the child (by the parent for opBindFd)
}

type mountComp struct{ prefix, name uint32 }

// fsParam is one fsconfig(2) call.
type fsParam struct {
	cmd        uintptr
	key, value *byte
}

// mountPlan is what the child needs for its mounts.
type mountPlan struct {
	propagation uintptr // mount flags for /, or 0 to leave it
	mountProc   bool    // mount(2) a proc on /proc after the mounts
	ops         []mountOp
	pivot       bool  // ops[0] is the new root: attach it on rootBase and pivot_root into it
	rootBase    *byte // Root, or "/"
	rootFd      int   // the child's: the new root (ops[0].fd) or "/", opened O_PATH
	cur         int   // the child's: the last component of a target opened so far
	first       int   // the first of ops made inside the root: 1 with pivot, else 0
	howDir      unix.OpenHow
	howAny      unix.OpenHow
	desc        []string // for errors: what each of ops is, "mount 3 (tmpfs on /tmp)"
	targets     []string // for errors: each op's Target, cleaned
	rootDesc    string
}

// mountFlagAttrs maps the mount(2) flags a MountSpec takes to MOUNT_ATTR_*.
var mountFlagAttrs = []struct {
	flag, attr uintptr
	atime      bool
}{
	{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY, false},
	{unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID, false},
	{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV, false},
	{unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC, false},
	{unix.MS_NOATIME, unix.MOUNT_ATTR_NOATIME, true},
	{unix.MS_STRICTATIME, unix.MOUNT_ATTR_STRICTATIME, true},
	{unix.MS_RELATIME, unix.MOUNT_ATTR_RELATIME, true},
	{unix.MS_NODIRATIME, unix.MOUNT_ATTR_NODIRATIME, false},
	{unix.MS_NOSYMFOLLOW, unix.MOUNT_ATTR_NOSYMFOLLOW, false},
}

// mountAttrs converts flags to MOUNT_ATTR_* flags; atime says whether it
// sets an access time mode, which mount_setattr must be told to clear first.
func mountAttrs(flags uintptr) (attrs uintptr, atime bool) {
	for _, f := range mountFlagAttrs {
		if flags&f.flag != 0 {
			attrs |= f.attr
			atime = atime || f.atime
		}
	}
	return attrs, atime
}

// The kernel features the mount steps need, probed once each.
var (
	openat2Err      = sync.OnceValue(probeOpenat2)
	mountAPIErr     = sync.OnceValue(probeMountAPI)
	mountSetattrErr = sync.OnceValue(probeMountSetattr)
	fchmodat2Err    = sync.OnceValue(probeFchmodat2)
	dataBindErr     = sync.OnceValue(probeDataBind)
)

// probeFchmodat2 asks the kernel whether it has fchmodat2 with
// AT_EMPTY_PATH (Linux 6.6), which a "chmod" entry uses on the target that
// openat2 resolved.
func probeFchmodat2() error {
	if _, _, e := unix.Syscall6(unix.SYS_FCHMODAT2, ^uintptr(0), uintptr(unsafe.Pointer(&strEmpty[0])), 0, unix.AT_EMPTY_PATH, 0, 0); e == unix.ENOSYS {
		return &procfs.NotSupportedError{Feature: "fchmodat2 (a chmod entry)", Version: "6.6"}
	}
	return nil
}

// probeDataBind asks the kernel whether open_tree clones a file of a
// detached mount, which a bind of Contents needs (on a tmpfs of its own,
// fsmount'ed and never attached): Linux 6.15, told by its release, since
// the caller may not mount a tmpfs to try.
func probeDataBind() error {
	if err := mountAPIErr(); err != nil {
		return err
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return os.NewSyscallError("uname", err)
	}
	var major, minor int
	fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &major, &minor)
	if major < 6 || major == 6 && minor < 15 {
		return &procfs.NotSupportedError{Feature: "open_tree of a file on a detached mount (a bind of Contents)", Version: "6.15"}
	}
	return nil
}

// probeOpenat2 asks the kernel whether it has openat2, with a descriptor
// that fails the call (EBADF) where it does; ENOSYS where it (or a seccomp
// profile) does not.
func probeOpenat2() error {
	if _, err := unix.Openat2(-1, "", &unix.OpenHow{}); err == unix.ENOSYS {
		return &procfs.NotSupportedError{Feature: "openat2 (Target resolved inside the root)", Version: "5.6"}
	}
	return nil
}

// probeMountAPI asks the kernel whether it has open_tree, and with it
// move_mount, fsopen, fsconfig and fsmount (the same release).
func probeMountAPI() error {
	if _, err := unix.OpenTree(-1, "", 0); err == unix.ENOSYS {
		return &procfs.NotSupportedError{Feature: "the mount API of open_tree, move_mount, fsopen and fsmount", Version: "5.2"}
	}
	return nil
}

// probeMountSetattr asks the kernel whether it has mount_setattr.
func probeMountSetattr() error {
	if err := unix.MountSetattr(-1, "", 0, &unix.MountAttr{}); err == unix.ENOSYS {
		return &procfs.NotSupportedError{Feature: "mount_setattr (flags and ID maps of a bind mount)", Version: "5.12"}
	}
	return nil
}

// Strings the mount steps pass to the kernel.
var (
	strEmpty = [...]byte{0}
	strDot   = [...]byte{'.', 0}
	strProcN = [...]byte{'p', 'r', 'o', 'c', 0}

	strTmpfs    = [...]byte{'t', 'm', 'p', 'f', 's', 0}
	strSource   = [...]byte{'s', 'o', 'u', 'r', 'c', 'e', 0}
	strBindFile = [...]byte{'b', 'i', 'n', 'd', 'f', 'i', 'l', 'e', 0}
)

// planMounts checks the mount options and fills the plan.
func (s *spawn) planMounts() error {
	o, p := s.opts, &s.plan
	m := &p.mnt
	if !o.New.Has(Mount) {
		for _, c := range []struct {
			set   bool
			field string
		}{{o.Root != "", "Root"}, {len(o.Mounts) > 0, "Mounts"}, {o.Propagation != PropagationPrivate, "Propagation"}} {
			if c.set {
				return fmt.Errorf("%s needs a new %s namespace (New has %s)", c.field, Mount, o.New)
			}
		}
		return nil
	}
	switch o.Propagation {
	case PropagationPrivate:
		m.propagation = unix.MS_REC | unix.MS_PRIVATE
	case PropagationSlave:
		m.propagation = unix.MS_REC | unix.MS_SLAVE
	case PropagationShared:
		m.propagation = unix.MS_REC | unix.MS_SHARED
	case PropagationUnchanged:
	default:
		return fmt.Errorf("invalid Propagation %d", int(o.Propagation))
	}

	rootSpec := len(o.Mounts) > 0 && filepath.Clean(o.Mounts[0].Target) == "/"
	m.pivot = o.Root != "" || rootSpec
	if m.pivot && o.Propagation == PropagationShared {
		return errors.New("Propagation shared with a new root (Root, or a Mounts entry on /): pivot_root(2) refuses a shared root, and the mounts under it would reach the caller's namespace")
	}
	if m.pivot && o.Propagation == PropagationUnchanged && !o.New.Has(User) {
		// The copy of the caller's mounts keeps their propagation: where
		// they are shared (systemd makes the host's so), the new root
		// attached there would appear in the caller's namespace, and stay
		// there when pivot_root(2) then refuses the shared mount. Only a
		// new user namespace turns shared mounts into slaves.
		return errors.New("Propagation unchanged with a new root (Root, or a Mounts entry on /) needs a new user namespace: the caller's mounts may be shared, and the new root would appear in the caller's namespace (pivot_root(2) refuses it then); use private or slave")
	}
	var root string
	if o.Root != "" {
		var err error
		if root, err = filepath.Abs(o.Root); err != nil {
			return fmt.Errorf("%s %q: %w", "Root", o.Root, err)
		}
		// Checked here where the child resolves it in the caller's view;
		// in a joined mount namespace, which this process cannot see, the
		// child's open_tree is the check.
		if !s.joinsMount() {
			fi, err := os.Stat(root)
			if err != nil {
				return fmt.Errorf("%s: %w", "Root", err)
			}
			if !fi.IsDir() {
				return fmt.Errorf("%s %q is not a directory: %w", "Root", o.Root, syscall.ENOTDIR)
			}
		}
	}
	if len(o.Mounts) == 0 && !m.pivot {
		m.mountProc = o.MountProc
		return nil
	}
	if err := openat2Err(); err != nil {
		return fmt.Errorf("%s: %w", "Mounts", err)
	}
	if m.pivot {
		// Root's own bind, MountProc's proc under the new root.
		if err := mountAPIErr(); err != nil {
			return fmt.Errorf("%s: %w", "Root", err)
		}
	}

	if o.Root != "" && !rootSpec {
		// Root, bound onto itself (recursively, as runc does): a mount of
		// the new namespace's own to pivot into.
		op := mountOp{kind: opBind, fd: -1, treeFlags: unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC | unix.AT_RECURSIVE}
		var err error
		if op.source, err = syscall.BytePtrFromString(root); err != nil {
			return fmt.Errorf("%s: %w", "Root", err)
		}
		m.ops = append(m.ops, op)
		m.desc = append(m.desc, fmt.Sprintf("Root %s (bound onto itself)", root))
		m.targets = append(m.targets, "/")
	}
	for i := range o.Mounts {
		if err := s.planMount(i, &o.Mounts[i]); err != nil {
			return fmt.Errorf("%s[%d] (%s): %w", "Mounts", i, specDesc(&o.Mounts[i]), err)
		}
	}
	if o.MountProc && m.pivot {
		// In the new root, before pivot_root: a user namespace may mount
		// a proc only where one is visible already (mount_too_revealing),
		// which the old root, detached after pivot_root, is.
		op := mountOp{kind: opFS, fd: -1, fstype: &strProcN[0], fsAttrs: unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC,
			params: []fsParam{{cmd: unix.FSCONFIG_SET_STRING, key: cstr("source"), value: &strProcN[0]}}}
		op.path, op.comps = targetPath("/proc")
		m.ops = append(m.ops, op)
		m.desc = append(m.desc, "MountProc (proc on /proc)")
		m.targets = append(m.targets, "/proc")
	} else {
		m.mountProc = o.MountProc
	}
	base := "/"
	if m.pivot {
		if o.Root != "" {
			base = root
		}
		m.rootDesc = m.desc[0]
		m.first = 1
	}
	m.rootBase = cstr(base)
	for i := range m.ops {
		m.ops[i].n = len(m.ops[i].comps)
		if m.ops[i].kind == opSymlink || m.ops[i].kind == opFile {
			m.ops[i].n--
		}
	}
	m.howDir = unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	m.howAny = unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	return nil
}

// specDesc says what a MountSpec is, for errors.
func specDesc(ms *MountSpec) string {
	switch ms.Type {
	case "dir":
		return "dir " + ms.Target
	case "symlink":
		return fmt.Sprintf("symlink %s -> %s", ms.Target, ms.Source)
	case "bind":
		return fmt.Sprintf("bind %s on %s", ms.Source, ms.Target)
	}
	return fmt.Sprintf("%s on %s", ms.Type, ms.Target)
}

// targetPath returns the prefixes of the clean absolute path t and their
// offsets, for mountOp.path and comps.
func targetPath(t string) ([]byte, []mountComp) {
	rel := strings.TrimPrefix(t, "/")
	if rel == "" {
		return nil, nil
	}
	var path []byte
	var comps []mountComp
	parts := strings.Split(rel, "/")
	for k := range parts {
		prefix := strings.Join(parts[:k+1], "/")
		start := uint32(len(path))
		comps = append(comps, mountComp{prefix: start, name: start + uint32(len(prefix)-len(parts[k]))})
		path = append(append(path, prefix...), 0)
	}
	return path, comps
}

// planMount checks Mounts[i] and adds its step to the plan.
func (s *spawn) planMount(i int, ms *MountSpec) error {
	m := &s.plan.mnt
	for _, f := range []struct{ name, v string }{{"Source", ms.Source}, {"Target", ms.Target}, {"Type", ms.Type}, {"Data", ms.Data}} {
		if strings.IndexByte(f.v, 0) >= 0 {
			return fmt.Errorf("%s contains a NUL byte", f.name)
		}
	}
	switch {
	case ms.Target == "":
		return errors.New("empty Target")
	case !filepath.IsAbs(ms.Target):
		return fmt.Errorf("%s %q is not an absolute path", "Target", ms.Target)
	case ms.Type == "":
		return errors.New("empty Type")
	}
	for _, c := range strings.Split(ms.Target, "/") {
		if c == ".." {
			return fmt.Errorf("%s %q has a \"..\" component: a Target is a path inside the root", "Target", ms.Target)
		}
	}
	target := filepath.Clean(ms.Target)
	op := mountOp{fd: -1}
	op.path, op.comps = targetPath(target)
	isRoot := target == "/"
	noCreate := ms.Type == "chmod" || ms.Type == "remount"
	if isRoot && i != 0 && !noCreate {
		return errors.New("only the first of Mounts may have Target /, the new root")
	}
	mode, err := unixMode("Mode", ms.Mode)
	if err != nil {
		return err
	}
	if op.parentMode, err = unixMode("ParentMode", ms.ParentMode); err != nil {
		return err
	}
	if op.parentMode != 0 {
		if noCreate {
			return fmt.Errorf("a %s creates nothing: ParentMode is for entries that create their parents", ms.Type)
		}
		op.dirMode = 0o755 // a mount point, made with exact modes as bwrap's
	}
	dataBind := ms.Type == "bind" && ms.Source == "" && ms.Contents != nil
	if ms.Contents != nil && ms.Type != "file" && !dataBind {
		return fmt.Errorf("%s is for a file, or a bind without Source", "Contents")
	}
	if ms.Mode != 0 && ms.Type != "dir" && ms.Type != "file" && ms.Type != "chmod" && !dataBind {
		return fmt.Errorf("%s is for a dir, a file, a chmod or a bind of Contents, not a %s", "Mode", ms.Type)
	}
	const atime = unix.MS_NOATIME | unix.MS_STRICTATIME | unix.MS_RELATIME
	allowed := uintptr(unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | atime | unix.MS_NODIRATIME | unix.MS_NOSYMFOLLOW | unix.MS_SILENT)
	idmapped := ms.UIDMap != nil || ms.GIDMap != nil
	if idmapped && ms.Type != "bind" {
		return errors.New("UIDMap and GIDMap are for a bind")
	}
	switch ms.Type {
	case "file", "chmod", "remount":
		if isRoot && (i == 0 || !noCreate) {
			return fmt.Errorf("a %s cannot be the new root", ms.Type)
		}
		if ms.Source != "" || ms.Data != "" || ms.Type != "remount" && ms.Flags != 0 {
			return fmt.Errorf("a %s takes no Source, Flags or Data", ms.Type)
		}
		op.noCreate, op.mode = noCreate, mode
		switch ms.Type {
		case "file":
			op.kind, op.data = opFile, append([]byte(nil), ms.Contents...)
			if op.mode == 0 {
				op.mode = 0o666 // bwrap's --file
			}
			op.mode &= 0o7777 // NoPermissions: 0
		case "chmod":
			op.kind, op.file = opChmod, true
			op.mode &= 0o7777 // NoPermissions: 0, as 0
			if err := fchmodat2Err(); err != nil {
				return err
			}
		case "remount":
			op.kind, op.file = opRemount, true
			if ms.Flags&^unix.MS_RDONLY != 0 {
				return fmt.Errorf("%s %#x: a remount adds MS_RDONLY only", "Flags", uint64(ms.Flags))
			}
			op.attr.Attr_set = unix.MOUNT_ATTR_RDONLY
			if err := mountSetattrErr(); err != nil {
				return err
			}
		}
		allowed |= unix.MS_RDONLY
	case "dir", "symlink":
		if isRoot {
			return fmt.Errorf("a %s cannot be the new root", ms.Type)
		}
		if ms.Flags != 0 || ms.Data != "" {
			return fmt.Errorf("a %s takes no Flags or Data", ms.Type)
		}
		op.kind = opDir
		op.dirMode = mode
		if ms.Type == "symlink" {
			op.kind = opSymlink
			if ms.Source == "" {
				return errors.New("empty Source: the text of the link")
			}
			op.source, _ = syscall.BytePtrFromString(ms.Source)
		}
	case "bind":
		allowed |= unix.MS_BIND | unix.MS_REC
		if ms.Data != "" {
			return errors.New("a bind takes no Data")
		}
		if dataBind {
			if err := s.planDataBind(ms, &op, isRoot, mode); err != nil {
				return err
			}
			break
		}
		if ms.Source == "" {
			return errors.New("empty Source (a bind of new data has Contents, not nil)")
		}
		// The source is resolved where it is opened: by the child, in the
		// caller's view or, with Handle.Spawn into a mount namespace, in
		// the joined one, which this process cannot see (the child then
		// finds out itself whether it is a directory, see
		// childMountSource); an idmapped bind by the caller.
		if !s.joinsMount() || idmapped {
			fi, err := os.Stat(ms.Source)
			if err != nil {
				return fmt.Errorf("%s: %w", "Source", err)
			}
			op.file = !fi.IsDir()
			if isRoot && op.file {
				return fmt.Errorf("%s %q is not a directory, for the new root: %w", "Source", ms.Source, syscall.ENOTDIR)
			}
		}
		op.kind = opBind
		op.source, _ = syscall.BytePtrFromString(ms.Source)
		op.treeFlags = unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC
		op.attrAt = unix.AT_EMPTY_PATH
		if ms.Flags&unix.MS_REC != 0 {
			op.treeFlags |= unix.AT_RECURSIVE
			op.attrAt |= unix.AT_RECURSIVE
		}
		attrs, at := mountAttrs(ms.Flags)
		op.attr.Attr_set = uint64(attrs)
		if at {
			op.attr.Attr_clr = unix.MOUNT_ATTR__ATIME
		}
		op.setattr = attrs != 0 || at
	default:
		if ms.Flags&unix.MS_REC != 0 {
			return errors.New("MS_REC is for a bind")
		}
		op.kind = opFS
		if op.fstype, err = syscall.BytePtrFromString(ms.Type); err != nil {
			return err
		}
		if ms.Source != "" {
			op.params = append(op.params, fsParam{cmd: unix.FSCONFIG_SET_STRING, key: cstr("source"), value: cstr(ms.Source)})
		}
		for _, kv := range strings.Split(ms.Data, ",") {
			if kv == "" {
				continue
			}
			if k, v, ok := strings.Cut(kv, "="); ok {
				op.params = append(op.params, fsParam{cmd: unix.FSCONFIG_SET_STRING, key: cstr(k), value: cstr(v)})
			} else {
				op.params = append(op.params, fsParam{cmd: unix.FSCONFIG_SET_FLAG, key: cstr(k)})
			}
		}
		op.fsAttrs, _ = mountAttrs(ms.Flags)
	}
	if bad := ms.Flags &^ allowed; bad != 0 {
		return fmt.Errorf("%s %#x: not supported here", "Flags", uint64(bad))
	}
	if op.kind == opBind || op.kind == opFS || op.kind == opData {
		if err := mountAPIErr(); err != nil {
			return err
		}
	}
	if op.setattr || idmapped {
		if err := mountSetattrErr(); err != nil {
			return err
		}
	}
	if idmapped {
		if err := s.openIdmapped(ms, &op); err != nil {
			return err
		}
	}
	m.ops = append(m.ops, op)
	m.desc = append(m.desc, fmt.Sprintf("mount %d (%s)", i, specDesc(ms)))
	m.targets = append(m.targets, target)
	return nil
}

// joinsMount reports whether the child enters a mount namespace of a
// handle's (Handle.Spawn), where paths name what the caller cannot see.
func (s *spawn) joinsMount() bool { return slices.Contains(s.joinedKinds, Mount) }

// unixMode converts a MountSpec mode to the bits that mkdirat, openat and
// fchmodat2 take.
func unixMode(field string, m os.FileMode) (uintptr, error) {
	if m == NoPermissions {
		return modeExactZero, nil
	}
	const allowed = os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky
	if bad := m &^ allowed; bad != 0 {
		return 0, fmt.Errorf("%s %#o (%v): only permission bits, os.ModeSetuid, os.ModeSetgid and os.ModeSticky, or NoPermissions alone", field, uint32(m), m)
	}
	u := uintptr(m.Perm())
	for _, b := range []struct {
		m os.FileMode
		u uintptr
	}{{os.ModeSetuid, unix.S_ISUID}, {os.ModeSetgid, unix.S_ISGID}, {os.ModeSticky, unix.S_ISVTX}} {
		if m&b.m != 0 {
			u |= b.u
		}
	}
	return u, nil
}

// planDataBind plans a bind of ms.Contents: a file that the child makes
// on a tmpfs of its own, opened with open_tree like a bind's source.
func (s *spawn) planDataBind(ms *MountSpec, op *mountOp, isRoot bool, mode uintptr) error {
	switch {
	case isRoot:
		return errors.New("a bind of Contents cannot be the new root")
	case ms.Flags&unix.MS_REC != 0:
		return errors.New("MS_REC: a bind of Contents is one file")
	case ms.UIDMap != nil || ms.GIDMap != nil:
		return errors.New("UIDMap and GIDMap are for a bind of a Source")
	}
	if err := dataBindErr(); err != nil {
		return err
	}
	op.kind, op.file, op.mode = opData, true, mode
	if op.mode == 0 {
		op.mode = 0o600 // bwrap's --bind-data
	}
	op.mode &= 0o7777 // NoPermissions: 0
	op.data = append([]byte(nil), ms.Contents...)
	op.treeFlags = unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC
	op.attrAt = unix.AT_EMPTY_PATH
	attrs, at := mountAttrs(ms.Flags)
	op.attr.Attr_set = uint64(attrs)
	if at {
		op.attr.Attr_clr = unix.MOUNT_ATTR__ATIME
	}
	op.setattr = attrs != 0 || at
	return nil
}

// cstr returns s as a NUL-terminated C string; s has no NUL (checked).
func cstr(s string) *byte {
	b, _ := syscall.BytePtrFromString(s)
	return b
}

// openIdmapped opens an idmapped bind for op in the parent: a clone of
// ms.Source, with its flags and the ID maps set on it, for the child to
// attach.
func (s *spawn) openIdmapped(ms *MountSpec, op *mountOp) error {
	for _, c := range []struct {
		name string
		m    idmap.Map
	}{{"UIDMap", ms.UIDMap}, {"GIDMap", ms.GIDMap}} {
		if c.m != nil {
			if err := c.m.Validate(); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
		}
	}
	userns, err := NewUserNamespace(ms.UIDMap, ms.GIDMap)
	if err != nil {
		return err
	}
	defer userns.Close()
	fd, err := unix.OpenTree(unix.AT_FDCWD, ms.Source, uint(op.treeFlags))
	if err != nil {
		return fmt.Errorf("idmapped bind: open_tree %s: %w", ms.Source, err)
	}
	tree := os.NewFile(uintptr(fd), ms.Source)
	attr := op.attr
	attr.Attr_set |= unix.MOUNT_ATTR_IDMAP
	attr.Userns_fd = uint64(userns.Fd())
	if err := unix.MountSetattr(fd, "", uint(op.attrAt), &attr); err != nil {
		tree.Close()
		return fmt.Errorf("idmapped bind: mount_setattr MOUNT_ATTR_IDMAP: %w", err)
	}
	s.closeAfterStart = append(s.closeAfterStart, tree)
	op.kind, op.fd, op.setattr = opBindFd, fd, false
	return nil
}

// mountStepName names a step of the mount family, or returns "".
func (s *spawn) mountStepName(step, idx uint32) string {
	m := &s.plan.mnt
	switch step {
	case stepMountPrivate:
		return fmt.Sprintf("set propagation %s on / (mount %#x)", s.opts.Propagation, m.propagation)
	case stepMountProc:
		return "mount /proc"
	case stepMountOpenRoot:
		return "open the new root's mount point"
	case stepMountAttachRoot:
		return fmt.Sprintf("%s: attach as the new root", m.rootDesc)
	case stepMountPivot:
		return fmt.Sprintf("pivot_root into %s", m.rootDesc)
	case stepMountDetachOld:
		return "detach the old root (umount2 MNT_DETACH)"
	}
	i, sub := int(idx&0xffff), int(idx>>16)-1
	if step < stepMountOpenTree || step > stepMountRemount || step > stepMountSymlink && step < stepMountFile || i >= len(m.ops) {
		return ""
	}
	op, what := &m.ops[i], ""
	prefix := func() string {
		if sub < 0 || sub >= len(op.comps) {
			return m.targets[i]
		}
		c := op.comps[sub]
		end := c.prefix
		for op.path[end] != 0 {
			end++
		}
		return "/" + string(op.path[c.prefix:end])
	}
	switch step {
	case stepMountOpenTree:
		what = "open_tree (OPEN_TREE_CLONE) of the source"
	case stepMountSetattr:
		what = "mount_setattr"
	case stepMountFsopen:
		what = "fsopen"
	case stepMountFsconfig:
		what = "fsconfig"
		if sub >= 0 && sub < len(op.params) {
			what = fmt.Sprintf("fsconfig %q", unsafe.String(op.params[sub].key, cLen(op.params[sub].key)))
			if v := op.params[sub].value; v != nil {
				what += fmt.Sprintf("=%q", unsafe.String(v, cLen(v)))
			}
		}
	case stepMountCreateFS:
		what = "fsconfig FSCONFIG_CMD_CREATE"
	case stepMountFsmount:
		what = "fsmount"
	case stepMountResolve:
		what = "open " + prefix() + " in the root (openat2 RESOLVE_IN_ROOT)"
	case stepMountCreate:
		what = "create " + prefix()
	case stepMountMove:
		what = "move_mount onto " + m.targets[i]
	case stepMountSymlink:
		what = "symlink " + m.targets[i]
	case stepMountFile:
		what = fmt.Sprintf("create %s (mode %#o, O_NOFOLLOW)", m.targets[i], op.mode)
	case stepMountWrite:
		what = fmt.Sprintf("write %d bytes", len(op.data))
	case stepMountDataFile:
		what = fmt.Sprintf("create the file for the bind on its tmpfs (mode %#o)", op.mode)
	case stepMountDataTree:
		what = "open_tree (OPEN_TREE_CLONE) of the file on its tmpfs"
	case stepMountChmod:
		what = fmt.Sprintf("chmod %#o (fchmodat2)", op.mode)
	case stepMountRemount:
		what = "mount_setattr MOUNT_ATTR_RDONLY"
	}
	return m.desc[i] + ": " + what
}

// cLen is the length of the C string at b.
func cLen(b *byte) int {
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(b), n)) != 0 {
		n++
	}
	return n
}

// childMounts sets the propagation, makes the mounts and the new root, and
// mounts /proc. Its helpers each make one system call or a few, so that
// their frames, and the chain down to childFailAt, stay small.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childMounts(p *childPlan) {
	var e syscall.Errno
	m := &p.mnt
	if m.propagation != 0 {
		if _, _, e = syscall.RawSyscall6(syscall.SYS_MOUNT, 0, uintptr(unsafe.Pointer(&strSlash[0])), 0, m.propagation, 0, 0); e != 0 {
			childFail(p, stepMountPrivate, e)
		}
	}
	if len(m.ops) > 0 {
		// Every source first, in the caller's view; then the root; then
		// each entry in order, inside it.
		for i := 0; i < len(m.ops); i++ {
			childMountSource(p, i)
			childMountData(p, i)
		}
		childMountRoot(p)
		for i := m.first; i < len(m.ops); i++ {
			m.cur = m.rootFd
			for k := 0; k < m.ops[i].n; k++ {
				childMountStep(p, i, k)
			}
			childMountFile(p, i)
			childMountAttach(p, i)
		}
		childMountPivot(p)
	}
	if m.mountProc {
		// Unless every mount is private already, /proc is made so first,
		// as unshare(1)'s --mount-proc does: a shared /proc (the copy of
		// the caller's, with Propagation shared or unchanged) would take
		// the new proc to the caller's /proc, over it. EINVAL: /proc is
		// no mount point, and the new one is attached to a mount that
		// the propagation already governs.
		if m.propagation != unix.MS_REC|unix.MS_PRIVATE {
			if _, _, e = syscall.RawSyscall6(syscall.SYS_MOUNT, 0, uintptr(unsafe.Pointer(&strProcDir[0])), 0, unix.MS_REC|unix.MS_PRIVATE, 0, 0); e != 0 && e != syscall.EINVAL {
				childFail(p, stepMountProc, e)
			}
		}
		if _, _, e = syscall.RawSyscall6(syscall.SYS_MOUNT, uintptr(unsafe.Pointer(&strProc[0])), uintptr(unsafe.Pointer(&strProcDir[0])), uintptr(unsafe.Pointer(&strProc[0])), unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, 0, 0); e != 0 {
			childFail(p, stepMountProc, e)
		}
	}
}

// childMountSource opens the source of ops[i] as a detached mount, in
// ops[i].fd: a clone of a bind's source tree, or a new file system.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childMountSource(p *childPlan, i int) {
	op := &p.mnt.ops[i]
	switch op.kind {
	case opBind:
		fd, _, e := syscall.RawSyscall6(unix.SYS_OPEN_TREE, atFDCWD, uintptr(unsafe.Pointer(op.source)), op.treeFlags, 0, 0, 0)
		if e != 0 {
			childFailAt(p, stepMountOpenTree, uint32(i), e)
		}
		op.fd = int(fd)
		// What it is decides what the target is created as: the tree
		// opened, not what the parent saw (Handle.Spawn's sources are in
		// the joined namespace).
		if _, _, e = syscall.RawSyscall6(unix.SYS_STATX, fd, uintptr(unsafe.Pointer(&strEmpty[0])), unix.AT_EMPTY_PATH, unix.STATX_TYPE, uintptr(unsafe.Pointer(&p.statx)), 0); e != 0 {
			childFailAt(p, stepMountOpenTree, uint32(i), e)
		}
		op.file = p.statx.Mode&unix.S_IFMT != unix.S_IFDIR
		if op.setattr {
			if _, _, e = syscall.RawSyscall6(unix.SYS_MOUNT_SETATTR, fd, uintptr(unsafe.Pointer(&strEmpty[0])), op.attrAt, uintptr(unsafe.Pointer(&op.attr)), unsafe.Sizeof(op.attr), 0); e != 0 {
				childFailAt(p, stepMountSetattr, uint32(i), e)
			}
		}
	case opFS:
		fs, _, e := syscall.RawSyscall6(unix.SYS_FSOPEN, uintptr(unsafe.Pointer(op.fstype)), unix.FSOPEN_CLOEXEC, 0, 0, 0, 0)
		if e != 0 {
			childFailAt(p, stepMountFsopen, uint32(i), e)
		}
		op.fd = int(fs)
		for k := 0; k < len(op.params); k++ {
			if _, _, e = syscall.RawSyscall6(unix.SYS_FSCONFIG, uintptr(op.fd), op.params[k].cmd, uintptr(unsafe.Pointer(op.params[k].key)), uintptr(unsafe.Pointer(op.params[k].value)), 0, 0); e != 0 {
				childFailAt(p, stepMountFsconfig, uint32(i)|uint32(k+1)<<16, e)
			}
		}
		if _, _, e = syscall.RawSyscall6(unix.SYS_FSCONFIG, uintptr(op.fd), unix.FSCONFIG_CMD_CREATE, 0, 0, 0, 0); e != 0 {
			childFailAt(p, stepMountCreateFS, uint32(i), e)
		}
		fd, _, e := syscall.RawSyscall6(unix.SYS_FSMOUNT, uintptr(op.fd), unix.FSMOUNT_CLOEXEC, op.fsAttrs, 0, 0, 0)
		if e != 0 {
			childFailAt(p, stepMountFsmount, uint32(i), e)
		}
		syscall.RawSyscall6(syscall.SYS_CLOSE, uintptr(op.fd), 0, 0, 0, 0, 0)
		op.fd = int(fd)
	}
}

// childMountData makes the source of a bind of Contents, ops[i].fd: a
// file on a new tmpfs, never attached, written and cloned with open_tree,
// then unlinked, so that only the bind reaches it. Its helpers keep the
// frames small.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childMountData(p *childPlan, i int) {
	if p.mnt.ops[i].kind != opData {
		return
	}
	childMountDataFS(p, i)
	childMountWrite(p, i, childMountDataFile(p, i))
	childMountDataTree(p, i)
}

// childMountDataFS makes the tmpfs of a bind of Contents, never attached,
// in ops[i].fd.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childMountDataFS(p *childPlan, i int) {
	fs, _, e := syscall.RawSyscall6(unix.SYS_FSOPEN, uintptr(unsafe.Pointer(&strTmpfs[0])), unix.FSOPEN_CLOEXEC, 0, 0, 0, 0)
	if e != 0 {
		childFailAt(p, stepMountFsopen, uint32(i), e)
	}
	syscall.RawSyscall6(unix.SYS_FSCONFIG, fs, unix.FSCONFIG_SET_STRING, uintptr(unsafe.Pointer(&strSource[0])), uintptr(unsafe.Pointer(&strTmpfs[0])), 0, 0)
	if _, _, e = syscall.RawSyscall6(unix.SYS_FSCONFIG, fs, unix.FSCONFIG_CMD_CREATE, 0, 0, 0, 0); e != 0 {
		childFailAt(p, stepMountCreateFS, uint32(i), e)
	}
	mnt, _, e := syscall.RawSyscall6(unix.SYS_FSMOUNT, fs, unix.FSMOUNT_CLOEXEC, 0, 0, 0, 0)
	if e != 0 {
		childFailAt(p, stepMountFsmount, uint32(i), e)
	}
	syscall.RawSyscall6(syscall.SYS_CLOSE, fs, 0, 0, 0, 0, 0)
	p.mnt.ops[i].fd = int(mnt)
}

// childMountDataFile creates the file of a bind of Contents on its tmpfs
// and returns its descriptor, for childMountWrite.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childMountDataFile(p *childPlan, i int) uintptr {
	op := &p.mnt.ops[i]
	old, _, _ := syscall.RawSyscall6(syscall.SYS_UMASK, 0, 0, 0, 0, 0, 0)
	fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, uintptr(op.fd), uintptr(unsafe.Pointer(&strBindFile[0])), unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, op.mode, 0, 0)
	syscall.RawSyscall6(syscall.SYS_UMASK, old, 0, 0, 0, 0, 0)
	if e != 0 {
		childFailAt(p, stepMountDataFile, uint32(i), e)
	}
	return fd
}

// childMountDataTree clones the file of a bind of Contents as a mount of
// its own, with its flags: ops[i].fd is then that mount, and dataMnt the
// tmpfs, where childMountAttach unlinks the file once the bind is attached
// (move_mount refuses a mount whose file is unlinked).
//
//go:nosplit
//go:norace
//go:nocheckptr
func childMountDataTree(p *childPlan, i int) {
	op := &p.mnt.ops[i]
	mnt := uintptr(op.fd)
	tree, _, e := syscall.RawSyscall6(unix.SYS_OPEN_TREE, mnt, uintptr(unsafe.Pointer(&strBindFile[0])), op.treeFlags, 0, 0, 0)
	if e != 0 {
		childFailAt(p, stepMountDataTree, uint32(i), e)
	}
	op.fd, op.dataMnt = int(tree), int(mnt)
	if op.setattr {
		if _, _, e = syscall.RawSyscall6(unix.SYS_MOUNT_SETATTR, tree, uintptr(unsafe.Pointer(&strEmpty[0])), op.attrAt, uintptr(unsafe.Pointer(&op.attr)), unsafe.Sizeof(op.attr), 0); e != 0 {
			childFailAt(p, stepMountSetattr, uint32(i), e)
		}
	}
}

// childMountWrite writes the data of ops[i] to fd and closes it.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childMountWrite(p *childPlan, i int, fd uintptr) {
	op := &p.mnt.ops[i]
	for off := 0; off < len(op.data); {
		n, _, e := syscall.RawSyscall6(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&op.data[off])), uintptr(len(op.data)-off), 0, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e == 0 && n == 0 {
			e = syscall.EIO
		}
		if e != 0 {
			childFailAt(p, stepMountWrite, uint32(i), e)
		}
		off += int(n)
	}
	syscall.RawSyscall6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
}

// childMountRoot sets rootFd, the root that targets are resolved in: with
// pivot, the new root (ops[0]) attached on its base; else /.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childMountRoot(p *childPlan) {
	m := &p.mnt
	fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(m.rootBase)), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		childFail(p, stepMountOpenRoot, e)
	}
	m.rootFd = int(fd)
	if m.pivot {
		if _, _, e = syscall.RawSyscall6(unix.SYS_MOVE_MOUNT, uintptr(m.ops[0].fd), uintptr(unsafe.Pointer(&strEmpty[0])), fd, uintptr(unsafe.Pointer(&strEmpty[0])), unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH, 0); e != 0 {
			childFail(p, stepMountAttachRoot, e)
		}
		syscall.RawSyscall6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
		m.rootFd = m.ops[0].fd
	}
}

// childMountStep opens component k of the target of ops[i] inside the
// root, creating it if missing, as cur, and closes the one before.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childMountStep(p *childPlan, i, k int) {
	m := &p.mnt
	op := &m.ops[i]
	how := &m.howDir
	if op.file && k == len(op.comps)-1 {
		how = &m.howAny
	}
	// openat2 with RESOLVE_IN_ROOT fails with EAGAIN when any mount or
	// rename in the system raced with the lookup: try again.
	fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT2, uintptr(m.rootFd), uintptr(unsafe.Pointer(&op.path[op.comps[k].prefix])), uintptr(unsafe.Pointer(how)), unix.SizeofOpenHow, 0, 0)
	for try := 0; e == syscall.EAGAIN && try < 1000; try++ {
		fd, _, e = syscall.RawSyscall6(unix.SYS_OPENAT2, uintptr(m.rootFd), uintptr(unsafe.Pointer(&op.path[op.comps[k].prefix])), uintptr(unsafe.Pointer(how)), unix.SizeofOpenHow, 0, 0)
	}
	if e == syscall.ENOENT && !op.noCreate {
		// Created in the directory just resolved, cur, by its name alone,
		// which mkdirat and O_CREAT|O_EXCL never follow if it is a
		// (dangling) symbolic link: they fail with EEXIST.
		name := uintptr(unsafe.Pointer(&op.path[op.comps[k].name]))
		if how == &m.howAny {
			if fd, _, e = syscall.RawSyscall6(syscall.SYS_OPENAT, uintptr(m.cur), name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644, 0, 0); e == 0 {
				syscall.RawSyscall6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
			}
		} else {
			e = childMountMkdir(p, i, k, name)
		}
		if e != 0 {
			childFailAt(p, stepMountCreate, uint32(i)|uint32(k+1)<<16, e)
		}
		fd, _, e = syscall.RawSyscall6(unix.SYS_OPENAT2, uintptr(m.rootFd), uintptr(unsafe.Pointer(&op.path[op.comps[k].prefix])), uintptr(unsafe.Pointer(how)), unix.SizeofOpenHow, 0, 0)
		for try := 0; e == syscall.EAGAIN && try < 1000; try++ {
			fd, _, e = syscall.RawSyscall6(unix.SYS_OPENAT2, uintptr(m.rootFd), uintptr(unsafe.Pointer(&op.path[op.comps[k].prefix])), uintptr(unsafe.Pointer(how)), unix.SizeofOpenHow, 0, 0)
		}
	}
	if e != 0 {
		childFailAt(p, stepMountResolve, uint32(i)|uint32(k+1)<<16, e)
	}
	if m.cur != m.rootFd {
		syscall.RawSyscall6(syscall.SYS_CLOSE, uintptr(m.cur), 0, 0, 0, 0, 0)
	}
	m.cur = int(fd)
}

// childMountMkdir makes component k of the target of ops[i], name in cur:
// with mode 0755 less the umask, or the exact mode of the entry. It
// returns the errno, for childMountStep to report: a call less deep.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childMountMkdir(p *childPlan, i, k int, name uintptr) syscall.Errno {
	m := &p.mnt
	op := &m.ops[i]
	mode := op.parentMode
	if k == len(op.comps)-1 {
		mode = op.dirMode
	}
	var e syscall.Errno
	if mode == 0 {
		_, _, e = syscall.RawSyscall6(syscall.SYS_MKDIRAT, uintptr(m.cur), name, 0o755, 0, 0, 0)
	} else {
		old, _, _ := syscall.RawSyscall6(syscall.SYS_UMASK, 0, 0, 0, 0, 0, 0)
		_, _, e = syscall.RawSyscall6(syscall.SYS_MKDIRAT, uintptr(m.cur), name, mode&0o7777, 0, 0, 0) // modeExactZero: 0
		syscall.RawSyscall6(syscall.SYS_UMASK, old, 0, 0, 0, 0, 0)
	}
	return e
}

// childMountFile makes the file of a "file" entry, ops[i], in cur, and
// writes its contents: apart from childMountAttach, to keep the frames of
// the chain down to childFailAt small.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childMountFile(p *childPlan, i int) {
	m := &p.mnt
	op := &m.ops[i]
	if op.kind != opFile {
		return
	}
	old, _, _ := syscall.RawSyscall6(syscall.SYS_UMASK, 0, 0, 0, 0, 0, 0)
	fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, uintptr(m.cur), uintptr(unsafe.Pointer(&op.path[op.comps[len(op.comps)-1].name])), unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, op.mode, 0, 0)
	syscall.RawSyscall6(syscall.SYS_UMASK, old, 0, 0, 0, 0, 0)
	if e != 0 {
		childFailAt(p, stepMountFile, uint32(i), e)
	}
	childMountWrite(p, i, fd)
}

// childMountAttach makes ops[i] at its target, cur: attaches the mount,
// or makes the symbolic link in it.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childMountAttach(p *childPlan, i int) {
	m := &p.mnt
	op := &m.ops[i]
	var e syscall.Errno
	switch op.kind {
	case opDir:
	case opFile: // childMountFile made it
	case opChmod:
		if _, _, e = syscall.RawSyscall6(unix.SYS_FCHMODAT2, uintptr(m.cur), uintptr(unsafe.Pointer(&strEmpty[0])), op.mode, unix.AT_EMPTY_PATH, 0, 0); e != 0 {
			childFailAt(p, stepMountChmod, uint32(i), e)
		}
	case opRemount:
		if _, _, e = syscall.RawSyscall6(unix.SYS_MOUNT_SETATTR, uintptr(m.cur), uintptr(unsafe.Pointer(&strEmpty[0])), unix.AT_EMPTY_PATH, uintptr(unsafe.Pointer(&op.attr)), unsafe.Sizeof(op.attr), 0); e != 0 {
			childFailAt(p, stepMountRemount, uint32(i), e)
		}
	case opSymlink:
		if _, _, e = syscall.RawSyscall6(syscall.SYS_SYMLINKAT, uintptr(unsafe.Pointer(op.source)), uintptr(m.cur), uintptr(unsafe.Pointer(&op.path[op.comps[len(op.comps)-1].name])), 0, 0, 0); e != 0 {
			childFailAt(p, stepMountSymlink, uint32(i), e)
		}
	default:
		if _, _, e = syscall.RawSyscall6(unix.SYS_MOVE_MOUNT, uintptr(op.fd), uintptr(unsafe.Pointer(&strEmpty[0])), uintptr(m.cur), uintptr(unsafe.Pointer(&strEmpty[0])), unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH, 0); e != 0 {
			childFailAt(p, stepMountMove, uint32(i), e)
		}
		syscall.RawSyscall6(syscall.SYS_CLOSE, uintptr(op.fd), 0, 0, 0, 0, 0)
		if op.kind == opData {
			// Unlinked, the file is reached through the bind alone.
			syscall.RawSyscall6(syscall.SYS_UNLINKAT, uintptr(op.dataMnt), uintptr(unsafe.Pointer(&strBindFile[0])), 0, 0, 0, 0)
			syscall.RawSyscall6(syscall.SYS_CLOSE, uintptr(op.dataMnt), 0, 0, 0, 0, 0)
		}
	}
	if m.cur != m.rootFd {
		syscall.RawSyscall6(syscall.SYS_CLOSE, uintptr(m.cur), 0, 0, 0, 0, 0)
	}
}

// childMountPivot makes the new root the root, with pivot, and closes
// rootFd.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childMountPivot(p *childPlan) {
	m := &p.mnt
	var e syscall.Errno
	if m.pivot {
		// pivot_root(".", ".") stacks the old root on the new one, which
		// umount2(".") then detaches (pivot_root(2)).
		if _, _, e = syscall.RawSyscall6(syscall.SYS_FCHDIR, uintptr(m.rootFd), 0, 0, 0, 0, 0); e == 0 {
			_, _, e = syscall.RawSyscall6(syscall.SYS_PIVOT_ROOT, uintptr(unsafe.Pointer(&strDot[0])), uintptr(unsafe.Pointer(&strDot[0])), 0, 0, 0, 0)
		}
		if e != 0 {
			childFail(p, stepMountPivot, e)
		}
		if _, _, e = syscall.RawSyscall6(syscall.SYS_UMOUNT2, uintptr(unsafe.Pointer(&strDot[0])), unix.MNT_DETACH, 0, 0, 0, 0); e == 0 {
			_, _, e = syscall.RawSyscall6(syscall.SYS_CHDIR, uintptr(unsafe.Pointer(&strSlash[0])), 0, 0, 0, 0, 0)
		}
		if e != 0 {
			childFail(p, stepMountDetachOld, e)
		}
	}
	syscall.RawSyscall6(syscall.SYS_CLOSE, uintptr(m.rootFd), 0, 0, 0, 0, 0)
}
