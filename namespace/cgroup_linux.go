package namespace

// Options.Cgroup: the program is born in a cgroup v2 directory. There is no
// step in the child for it: clone3(2) with CLONE_INTO_CGROUP (Linux 5.7)
// makes the child there, whatever the child path (see forkExec), so that no
// instruction of the child, nor of the program, runs in the caller's cgroup,
// and a child that forks the program's process (Handle.Spawn into a PID
// namespace) passes the cgroup on to it.

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// CgroupDir names a cgroup v2 directory: by path, or by an open descriptor
// of it (one of the two). The zero value names none.
//
// The caller needs, as for writing a PID to cgroup.procs, write permission
// on the directory's cgroup.procs and on that of the nearest cgroup that
// holds both the caller and the directory: a cgroup delegated to an
// unprivileged user (owned by it, as systemd's Delegate=yes makes) works
// for that user when the caller is inside the delegated subtree. The
// directory may not have controllers enabled in its cgroup.subtree_control
// (cgroup v2's "no internal processes" rule): clone fails with EBUSY.
type CgroupDir struct {
	Path string   // a directory under the cgroup2 mount, such as /sys/fs/cgroup/app
	File *os.File // an open directory of it (O_PATH is enough)
}

// planCgroup checks Options.Cgroup and fills the plan: the directory must be
// one on a cgroup2 file system, and the kernel must have CLONE_INTO_CGROUP.
func (s *spawn) planCgroup() error {
	c := s.opts.Cgroup
	p := &s.plan
	if c == (CgroupDir{}) {
		return nil
	}
	if c.Path != "" && c.File != nil {
		return errors.New("invalid Cgroup: both Path and File are set; set one")
	}
	f, name := c.File, cgroupName(c)
	if f == nil {
		var err error
		f, err = os.OpenFile(c.Path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if errors.Is(err, syscall.ENOTDIR) {
			return fmt.Errorf("%s: %w", name, syscall.ENOTDIR)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		s.closeAfterStart = append(s.closeAfterStart, f)
	} else {
		s.keepAlive = append(s.keepAlive, f)
	}
	fd := int(f.Fd())
	if fd < 0 {
		return fmt.Errorf("%s: %w", name, os.ErrClosed)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("%s: %w", name, os.NewSyscallError("fstat", err))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("%s: %w", name, syscall.ENOTDIR)
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return fmt.Errorf("%s: %w", name, os.NewSyscallError("fstatfs", err))
	}
	if fs.Type != unix.CGROUP2_SUPER_MAGIC {
		what := fmt.Sprintf("file system type %#x", fs.Type)
		if fs.Type == unix.CGROUP_SUPER_MAGIC {
			what = "cgroup v1"
		}
		return fmt.Errorf("%s: not a cgroup v2 directory (%s)", name, what)
	}
	if err := intoCgroupSupported(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	// A new cgroup namespace that clone3 makes with the child is rooted
	// at the cgroup it puts the child in (cgroup_post_fork), not the
	// caller's: the program sees its own cgroup as "/".
	p.intoCgroup, p.cgroupFd = true, fd
	return nil
}

// cgroupName names Options.Cgroup in errors: "Cgroup.Path /sys/fs/cgroup/x".
func cgroupName(c CgroupDir) string {
	if c.File != nil {
		return "Cgroup.File " + c.File.Name()
	}
	return "Cgroup.Path " + c.Path
}

// cgroupStepName names a step of the cgroup family, or returns "": the
// family has none in the child.
func (s *spawn) cgroupStepName(step, idx uint32) string { return "" }

// intoCgroupErr is the answer of the probe for CLONE_INTO_CGROUP.
var intoCgroupErr = sync.OnceValue(probeIntoCgroup)

// intoCgroupSupported returns nil if clone3 can make a child in a cgroup
// here, or an error matching ErrNotSupported.
func intoCgroupSupported() error {
	if noClone3.Load() {
		// clone3 failed where clone worked (an older kernel than 5.5, or a
		// seccomp profile), or a test said so.
		return fmt.Errorf("clone3 failed where clone(2) worked: %w", &procfs.NotSupportedError{Feature: "clone3 with CLONE_INTO_CGROUP", Version: "5.7"})
	}
	return intoCgroupErr()
}

// probeIntoCgroup asks the kernel, once, whether clone3 takes
// CLONE_INTO_CGROUP, with arguments that fail before any process is made: a
// cgroup descriptor above INT_MAX, which Linux 5.7 and later refuse with
// EINVAL as they read the arguments. Older kernels refuse the longer struct
// with E2BIG, kernels before 5.3 know no clone3 (ENOSYS), and a seccomp
// profile gives its own errno (ENOSYS or EPERM, as container engines do).
func probeIntoCgroup() error {
	args := cloneArgs{flags: unix.CLONE_INTO_CGROUP, cgroup: 1 << 32}
	_, _, e := syscall.RawSyscall(unix.SYS_CLONE3, uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args), 0)
	if e == syscall.EINVAL {
		return nil
	}
	return fmt.Errorf("clone3 probed with CLONE_INTO_CGROUP: %w: %w", e,
		&procfs.NotSupportedError{Feature: "clone3 with CLONE_INTO_CGROUP", Version: "5.7"})
}

// cgroupCloneError explains an errno that clone3 gives for a child it puts
// into Options.Cgroup, or returns nil for one that says nothing of it.
func (s *spawn) cgroupCloneError(errno syscall.Errno) error {
	name := cgroupName(s.opts.Cgroup)
	var hint string
	switch errno {
	case unix.ENOSYS, unix.E2BIG:
		return fmt.Errorf("%s: clone3: %w: %w", name, errno,
			&procfs.NotSupportedError{Feature: "clone3 with CLONE_INTO_CGROUP", Version: "5.7"})
	case unix.EACCES:
		hint = "moving a process there needs write permission on its cgroup.procs and on that of the nearest cgroup holding both the caller and it"
	case unix.EBUSY:
		hint = "a cgroup with controllers enabled in its cgroup.subtree_control can hold no process"
	case unix.ENODEV, unix.ENOENT:
		hint = "the cgroup was removed"
	case unix.EOPNOTSUPP:
		hint = "a threaded cgroup, or the root of a threaded subtree, takes no new process this way"
	case unix.EBADF:
		hint = "not a cgroup v2 directory"
	default:
		return nil
	}
	return fmt.Errorf("%s: %w (%s)", name, os.NewSyscallError("clone3", errno), hint)
}
