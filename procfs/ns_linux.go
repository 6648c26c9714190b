package procfs

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// Stat returns the identity of the namespace file at path: a /proc/PID/ns/KIND
// link, a /proc/PID/task/TID/ns/KIND link, or a bind mount of one (such as
// /run/netns/NAME). A path that is not a namespace file is an error.
func Stat(path string) (ID, error) {
	id, err := statLink(path)
	if err != nil {
		return ID{}, err
	}
	if err := checkNsfs(path); err != nil {
		return ID{}, err
	}
	return id, nil
}

// checkNsfs fails unless path is on nsfs.
func checkNsfs(path string) error {
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		return &os.PathError{Op: "statfs", Path: path, Err: err}
	}
	if fs.Type != unix.NSFS_MAGIC {
		return fmt.Errorf("%s: not a namespace file (filesystem type %#x, want nsfs)", path, fs.Type)
	}
	return nil
}

// statLink returns the ID behind a namespace link under /proc. It trusts the
// path to be one, which saves the statfs(2) that Stat makes.
func statLink(path string) (ID, error) {
	id, err := idAt(unix.AT_FDCWD, path)
	if pe, ok := err.(*os.PathError); ok {
		pe.Path = path
	}
	return id, err
}

// Lookup returns the namespace of one kind that process pid is in, from
// /proc/PID/ns/KIND. For a missing process the error matches os.ErrNotExist;
// for a kind this kernel lacks, ErrNotSupported.
func Lookup(pid int, kind Kind) (ID, error) {
	return lookupIn(pidDir(pid), kind, fmt.Sprintf("pid %d", pid))
}

// ThreadNamespaces returns every namespace the calling OS thread is in, from
// /proc/thread-self/ns. Call it from a goroutine locked to its thread
// (runtime.LockOSThread) for an answer that means anything.
func ThreadNamespaces() (map[Kind]ID, error) {
	return namespacesIn("/proc/thread-self", "thread-self")
}

// Namespaces returns every namespace process pid is in, one ID for each kind
// this kernel supports, from the links in /proc/PID/ns. For a missing process
// the error matches os.ErrNotExist.
func Namespaces(pid int) (map[Kind]ID, error) {
	return namespacesIn(pidDir(pid), fmt.Sprintf("pid %d", pid))
}

// ForChildren returns the namespaces that the children process pid creates
// from now on will be in, for the two kinds where that can differ from pid's
// own: PID (/proc/PID/ns/pid_for_children) and Time (time_for_children). The
// PID entry is missing while pid has unshared a PID namespace whose first
// process is not yet created; the Time entry is missing where the kernel lacks
// time namespaces.
func ForChildren(pid int) (map[Kind]ID, error) {
	dir := pidDir(pid)
	out := make(map[Kind]ID, 2)
	for _, k := range []Kind{PID, Time} {
		if !supported(k) {
			continue
		}
		id, err := statLink(dir + "/ns/" + k.String() + "_for_children")
		if errors.Is(err, unix.ENOENT) && processExists(dir) {
			continue // a pid_for_children link with no namespace yet
		}
		if err != nil {
			return nil, fmt.Errorf("pid %d %s_for_children: %w", pid, k, err)
		}
		out[k] = id
	}
	return out, nil
}

func pidDir(pid int) string { return "/proc/" + strconv.Itoa(pid) }

func processExists(dir string) bool {
	var st unix.Stat_t
	return unix.Stat(dir, &st) == nil
}

func lookupIn(dir string, kind Kind, who string) (ID, error) {
	if kind&(kind-1) != 0 || !kind.Valid() {
		return ID{}, fmt.Errorf("%s: lookup wants a single kind, got %s", who, kind)
	}
	if !supported(kind) {
		return ID{}, fmt.Errorf("%s %s: %w", who, kind, KindNotSupported(kind))
	}
	id, err := statLink(dir + "/ns/" + kind.String())
	if err != nil {
		return ID{}, fmt.Errorf("%s %s: %w", who, kind, err)
	}
	return id, nil
}

func namespacesIn(dir, who string) (map[Kind]ID, error) {
	have := Supported()
	out := make(map[Kind]ID, 8)
	for k := range have.Each() {
		id, err := statLink(dir + "/ns/" + k.String())
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", who, k, err)
		}
		out[k] = id
	}
	return out, nil
}

// Supported returns the namespace kinds that the running kernel has: those
// with a link in /proc/self/ns, or where /proc is not there, those that a
// pidfd of the process opens (Linux 6.11). The answer is computed once and
// cached.
func Supported() Kind { return supportedKinds() }

var supportedKinds = sync.OnceValue(func() Kind {
	var have Kind
	var st unix.Stat_t
	for _, e := range kinds {
		if unix.Lstat("/proc/self/ns/"+e.name, &st) == nil {
			have |= e.kind
		}
	}
	if have != 0 {
		return have
	}
	return supportedViaPidfd()
})

// supportedViaPidfd returns the kinds that a pidfd of the process opens
// (Linux 6.11), for when /proc is not there. A kind the kernel was built
// without gives EOPNOTSUPP; a kernel before 6.11 has no such ioctl (ENOTTY).
func supportedViaPidfd() Kind {
	pidfd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		return 0
	}
	defer unix.Close(pidfd)
	var have Kind
	for _, e := range kinds {
		if fd, err := pidfdNamespace(pidfd, e.kind); err == nil {
			unix.Close(fd)
			have |= e.kind
		}
	}
	return have
}

func supported(k Kind) bool { return Supported().Has(k) }

// CheckSupported returns nil if the kernel has every kind in k, and otherwise
// an error matching ErrNotSupported that names the first kind missing.
func CheckSupported(k Kind) error {
	missing := k &^ Supported()
	for one := range missing.Each() {
		return KindNotSupported(one)
	}
	return nil
}
