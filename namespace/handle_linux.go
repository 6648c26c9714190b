package namespace

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// Handle pins namespaces: it holds a descriptor open on each, so they live and
// stay the same namespaces for as long as the handle is open, whatever
// becomes of the processes that were in them. Do runs Go code in them, Spawn
// starts programs in them, Bind gives them a name in the file system, and Ref
// a reference to store, which OpenRef turns into a Handle again.
//
// A Handle comes from Join, Current, FromPath, OpenRef or Unshare. A zero Handle, or a
// nil *Handle, holds no namespaces: Do, Spawn, Bind and Close refuse it with
// an error matching os.ErrInvalid, as the methods of a nil *os.File do,
// rather than run anything in the caller's own namespaces; Kinds, IDs and
// String give 0, an empty map and "" ("<nil>" for nil).
//
// A Handle is safe for concurrent use. Close releases it.
type Handle struct {
	desc string // a path, "self" or "unshare", for errors; "" with pid
	pid  int    // Join's process, described as "pid PID" when it is needed

	// mu guards users, idle and closed. A call that uses the descriptors
	// (Do, Spawn, Bind) counts itself in users; Close marks the handle
	// closed at once, so that no new call starts, and waits for users to
	// reach zero. A read lock held across the call would deadlock a Spawn
	// inside Do's fn as soon as a Close waits, since a waiting writer
	// blocks new readers.
	mu    sync.Mutex
	users int
	idle  chan struct{} // made by a Close that waits; closed when users reach 0
	// releasedDone is set once Close has closed the descriptors; a second
	// Close before that makes released and waits for it to be closed.
	released     chan struct{}
	releasedDone bool
	kinds        Kind
	fds          kindFds
	// ids is nil until identities reads it: Join and Current leave it so,
	// as a caller that only enters the namespaces never needs it.
	ids    map[Kind]ID
	closed bool

	// pidfd, if havePidfd, is a pidfd of the process whose namespaces
	// Join pinned: Spawn enters them through it in one setns, where the
	// process still is in them (see childPlan.joinPidfd).
	pidfd     int
	havePidfd bool
}

// Join pins the namespaces of the given kinds that process pid is in now.
//
// It opens a pidfd on the process first (Linux 5.3), and through it every
// namespace (ioctl PIDFD_GET_KIND_NAMESPACE, Linux 6.11): nothing under
// /proc, so Join works where /proc is mounted hidepid=2 or not at all, and
// the handle names the namespaces of that process even if its PID is reused
// meanwhile. Before 6.11 it opens /proc/PID/ns/KIND for every kind, then
// checks through the pidfd that the same process is still alive, to the
// same end.
//
// A process that is not there to join gives an error matching os.ErrNotExist,
// as procfs.Namespaces and idmap.ReadUIDMap do: no process has the PID (the
// error also matches unix.ESRCH, which pidfd_open(2) gave), or the process
// exited, before Join or while it opened the namespaces (the error then also
// matches os.ErrProcessDone; a zombie counts as exited). A kind the kernel
// lacks gives ErrNotSupported. Reading another user's process needs the
// rights of ptrace(2) over it.
func Join(pid int, kinds Kind) (*Handle, error) {
	desc := func() string { return "pid " + strconv.Itoa(pid) } // for errors, made only then
	if pid <= 0 || pid > math.MaxInt32 {                        // pid_t: the kernel would take the low 32 bits
		return nil, fmt.Errorf("join %s: not a process ID", desc())
	}
	if err := checkKinds(kinds); err != nil {
		return nil, fmt.Errorf("join %s: %w", desc(), err)
	}
	// A raw system call: pidfd_open waits on nothing.
	r, _, e := unix.RawSyscall(unix.SYS_PIDFD_OPEN, uintptr(pid), 0, 0)
	pidfd, err := int(r), error(nil)
	if e != 0 {
		pidfd, err = -1, e
	}
	switch {
	case err == unix.ENOSYS:
		pidfd = -1 // Linux before 5.3: no guard against PID reuse
	case err == unix.ESRCH:
		return nil, fmt.Errorf("join %s: %w", desc(), &notThere{err: os.NewSyscallError("pidfd_open", err)})
	case err != nil:
		return nil, fmt.Errorf("join %s: %w", desc(), os.NewSyscallError("pidfd_open", err))
	}
	if joinTestHook != nil {
		joinTestHook(pid)
	}
	if pidfd >= 0 && viaPidfd() {
		h, err := openPidfd(pid, "", pidfd, kinds)
		if err != nil {
			unix.Close(pidfd)
			return nil, fmt.Errorf("join %w", err)
		}
		h.pidfd, h.havePidfd = pidfd, true
		return h, nil
	}
	h, err := open(desc(), "/proc/"+strconv.Itoa(pid)+"/ns/", kinds)
	if err != nil {
		if pidfd >= 0 && exited(pidfd) {
			// Its /proc/PID/ns links went with it (ENOENT): say why.
			err = &notThere{err: err, done: true}
		}
		if pidfd >= 0 {
			unix.Close(pidfd)
		}
		return nil, fmt.Errorf("join %w", err)
	}
	if pidfd >= 0 && exited(pidfd) {
		unix.Close(pidfd)
		h.Close()
		return nil, fmt.Errorf("join %s: the process exited while its namespaces were opened: %w", desc(),
			&notThere{err: unix.ESRCH, done: true})
	}
	h.pidfd, h.havePidfd = pidfd, pidfd >= 0
	return h, nil
}

// Current pins the namespaces of the given kinds that the calling process is
// in (those of /proc/self/ns): its main thread's, whatever namespaces the
// calling thread may have entered. Like Join, it opens them through a pidfd
// of the process where the kernel allows (Linux 6.11), under /proc
// otherwise.
func Current(kinds Kind) (*Handle, error) {
	if err := checkKinds(kinds); err != nil {
		return nil, fmt.Errorf("join self: %w", err)
	}
	if viaPidfd() {
		// A pidfd of the process names its thread group leader, as
		// /proc/self does: the ioctls give that thread's namespaces.
		if pidfd, err := unix.PidfdOpen(os.Getpid(), 0); err == nil {
			defer unix.Close(pidfd)
			h, err := openPidfd(0, "self", pidfd, kinds)
			if err != nil {
				return nil, fmt.Errorf("join %w", err)
			}
			return h, nil
		}
	}
	h, err := open("self", "/proc/self/ns/", kinds)
	if err != nil {
		return nil, fmt.Errorf("join %w", err)
	}
	return h, nil
}

// FromPath pins the namespace whose file is at path: a /proc/PID/ns/KIND link
// or a bind mount of one, such as /run/netns/NAME. Its kind comes from the
// kernel (ioctl NS_GET_NSTYPE, Linux 4.11). A file that is not a namespace is
// an error.
func FromPath(path string) (*Handle, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("join %w", &os.PathError{Op: "open", Path: path, Err: err})
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil || fs.Type != unix.NSFS_MAGIC {
		unix.Close(fd)
		if err == nil {
			err = errors.New("not a namespace file")
		}
		return nil, fmt.Errorf("join %s: %w", path, err)
	}
	kind, err := procfs.KindOf(fd)
	if err == nil {
		err = checkKinds(kind)
	}
	var id ID
	if err == nil {
		id, err = procfs.StatFD(fd)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("join %s: %w", path, err)
	}
	h := &Handle{desc: path, kinds: kind, ids: map[Kind]ID{kind: id}}
	h.fds.set(kind, fd)
	return h, nil
}

// FromPaths pins the namespaces whose files are at paths, as FromPath does
// for one, into one handle, for namespaces that no single process is in:
// bwrap's --userns and --pidns, say, a user namespace and a PID namespace
// that it owns, given as two descriptors ("/proc/self/fd/N"). Each path must
// be a namespace of another kind. Handle.Spawn enters them as it enters
// Join's: the user namespace first.
func FromPaths(paths ...string) (*Handle, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("join: no paths: %w", os.ErrInvalid)
	}
	h := &Handle{desc: strings.Join(paths, ", "), ids: map[Kind]ID{}}
	for _, path := range paths {
		one, err := FromPath(path)
		if err != nil {
			h.Close()
			return nil, err
		}
		if h.kinds.Has(one.kinds) {
			one.Close()
			h.Close()
			return nil, fmt.Errorf("join %s: a second %s namespace: %w", path, one.kinds, os.ErrInvalid)
		}
		fd, _ := one.fds.get(one.kinds)
		h.kinds |= one.kinds
		h.fds.set(one.kinds, fd)
		h.ids[one.kinds] = one.ids[one.kinds]
	}
	return h, nil
}

// notThere is the error of a process that is not there to join: err is what
// the kernel said, and errors.Is matches it and os.ErrNotExist; with done
// set, the process was there and exited meanwhile, and os.ErrProcessDone
// matches too.
type notThere struct {
	err  error
	done bool
}

func (e *notThere) Error() string { return e.err.Error() }

func (e *notThere) Unwrap() []error {
	if e.done {
		return []error{e.err, os.ErrNotExist, os.ErrProcessDone}
	}
	return []error{e.err, os.ErrNotExist}
}

// exited reports whether the process of pidfd has exited: it is a zombie, or
// gone. A pidfd polls readable then (Linux 5.3), whoever may signal it.
func exited(pidfd int) bool {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n == 1 && fds[0].Revents&(unix.POLLIN|unix.POLLHUP) != 0
	}
}

// joinTestHook, set only by tests, runs in Join between pidfd_open and the
// opening of the namespace files: the window that the pidfd guards.
var joinTestHook func(pid int)

func checkKinds(kinds Kind) error {
	if kinds == 0 || kinds&^All != 0 {
		return fmt.Errorf("invalid kinds %s", kinds)
	}
	return procfs.CheckSupported(kinds)
}

// open opens dir+KIND for every kind, before any of them is used, into a
// Handle whose identities are read when first needed.
func open(desc, dir string, kinds Kind) (*Handle, error) {
	h := &Handle{desc: desc, kinds: kinds}
	for k := range kinds.Each() {
		path := dir + k.String()
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			h.Close()
			return nil, fmt.Errorf("%s %s: %w", desc, k, &os.PathError{Op: "open", Path: path, Err: err})
		}
		h.fds.set(k, fd)
	}
	return h, nil
}

// Kinds returns the kinds of namespace the handle holds: 0 for a zero or nil
// Handle.
func (h *Handle) Kinds() Kind {
	if h == nil {
		return 0
	}
	return h.kinds
}

// IDs returns the identity of each namespace the handle holds: an empty map
// for a zero or nil Handle. On Linux 6.18 and later each carries the
// namespace's 64-bit ID (see procfs.ID), and equals the ID that procfs gives
// for the same namespace, at any time.
//
// Join and Current do not read the identities (one system call per kind
// that a caller who only enters the namespaces does not need): the first
// call of IDs, Ref, Do, Spawn or another method that uses the namespaces
// reads them, from the descriptors the handle holds, and the handle keeps
// them. So a handle from Join closed before any of those has none, and IDs
// returns an empty map for it: call IDs before Close to keep them.
func (h *Handle) IDs() map[Kind]ID {
	if h == nil || h.kinds == 0 {
		return map[Kind]ID{}
	}
	ids, _ := h.identities()
	out := make(map[Kind]ID, len(ids))
	for k, id := range ids {
		out[k] = id
	}
	return out
}

// identities returns the identity of each namespace the handle holds,
// reading them first if no call has yet (see IDs); on a handle closed
// before that, an error matching os.ErrClosed.
func (h *Handle) identities() (map[Kind]ID, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.identitiesLocked()
}

// identitiesLocked is identities with h.mu held.
func (h *Handle) identitiesLocked() (map[Kind]ID, error) {
	if h.ids != nil {
		return h.ids, nil
	}
	if h.closed {
		return nil, fmt.Errorf("%s: closed before its identities were read: %w", h.what(), os.ErrClosed)
	}
	ids := make(map[Kind]ID, h.fds.len())
	for k, fd := range h.fds.all() {
		id, err := procfs.StatFD(fd)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", h.what(), k, err)
		}
		ids[k] = id
	}
	h.ids = ids
	return ids, nil
}

// String describes where the handle's namespaces came from: "pid 4242",
// "self", "unshare" or a path; "" for a zero Handle and "<nil>" for a nil
// one.
func (h *Handle) String() string {
	if h == nil {
		return "<nil>"
	}
	return h.what()
}

// Close releases the namespaces. It waits for Do and Spawn calls that use them
// to finish; calls that start once Close has begun fail with an error
// matching os.ErrClosed, even one made inside Do's fn (so fn must not call
// Close itself: it would wait for its own Do). A second Close returns nil
// once the first has released the namespaces. Closing twice is not an error; closing a
// zero or nil Handle is, one matching os.ErrInvalid.
func (h *Handle) Close() error {
	if err := h.valid(); err != nil {
		return err
	}
	h.mu.Lock()
	if h.closed {
		// Another Close is under way, or done: return when it is.
		if h.releasedDone {
			h.mu.Unlock()
			return nil
		}
		if h.released == nil {
			h.released = make(chan struct{})
		}
		released := h.released
		h.mu.Unlock()
		<-released
		return nil
	}
	h.closed = true
	defer func() {
		h.mu.Lock()
		h.releasedDone = true
		if h.released != nil {
			close(h.released)
		}
		h.mu.Unlock()
	}()
	var idle chan struct{}
	if h.users > 0 {
		h.idle = make(chan struct{})
		idle = h.idle
	}
	h.mu.Unlock()
	if idle != nil {
		<-idle
	}
	if closeRange(h) {
		return nil
	}
	var first error
	if h.havePidfd {
		unix.Close(h.pidfd)
	}
	for _, fd := range h.fds.all() {
		if err := unix.Close(fd); err != nil && first == nil {
			first = os.NewSyscallError("close", err)
		}
	}
	return first
}

// closeRange closes the handle's descriptors with one close_range(2)
// (Linux 5.9) where they are all the numbers from the lowest to the
// highest, as Join's usually are (the pidfd, then one per kind): no other
// descriptor is in that range then. It reports whether it did.
func closeRange(h *Handle) bool {
	lo, hi, n := -1, -1, h.fds.len()
	for _, fd := range h.fds.all() {
		lo, hi = rangeWith(lo, hi, fd)
	}
	if h.havePidfd {
		lo, hi = rangeWith(lo, hi, h.pidfd)
		n++
	}
	if n < 2 || hi-lo+1 != n {
		return false
	}
	_, _, e := unix.RawSyscall(unix.SYS_CLOSE_RANGE, uintptr(lo), uintptr(hi), 0)
	return e == 0
}

// rangeWith widens [lo, hi] (empty when lo < 0) to hold fd.
func rangeWith(lo, hi, fd int) (int, int) {
	if lo < 0 || fd < lo {
		lo = fd
	}
	return lo, max(hi, fd)
}

// what describes the handle for errors and String: "pid 4242", a path,
// "self" or "unshare".
func (h *Handle) what() string {
	if h.desc == "" && h.pid > 0 {
		return "pid " + strconv.Itoa(h.pid)
	}
	return h.desc
}

// valid returns an error for a nil or zero Handle, which no constructor
// returns: every one holds at least one namespace.
func (h *Handle) valid() error {
	switch {
	case h == nil:
		return fmt.Errorf("namespace: nil Handle: %w", os.ErrInvalid)
	case h.kinds == 0:
		return fmt.Errorf("namespace: zero Handle, which holds no namespaces (Join, Current, FromPath and Unshare make Handles): %w", os.ErrInvalid)
	}
	return nil
}

// use holds the handle open for the caller, who must call the returned
// function when done.
func (h *Handle) use() (func(), error) {
	if err := h.valid(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, fmt.Errorf("%s: %w", h.what(), os.ErrClosed)
	}
	// Every use compares or passes on the identities.
	if _, err := h.identitiesLocked(); err != nil {
		return nil, err
	}
	h.users++
	return h.release, nil
}

// release ends a use of the handle.
func (h *Handle) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.users--; h.users == 0 && h.idle != nil {
		close(h.idle)
		h.idle = nil
	}
}

// kindFds holds a descriptor per kind, without the allocations of a map:
// the namespaces a Handle pins, set as they are opened (an error midway
// closes those set so far).
type kindFds struct {
	have Kind
	fd   [8]int32 // by kindIndex
}

// kindIndex numbers the eight kinds, whose CLONE_NEW* bits are scattered.
func kindIndex(k Kind) int {
	switch k {
	case Mount:
		return 0
	case UTS:
		return 1
	case IPC:
		return 2
	case Net:
		return 3
	case PID:
		return 4
	case User:
		return 5
	case Cgroup:
		return 6
	}
	return 7 // Time
}

func (f *kindFds) set(k Kind, fd int) {
	f.fd[kindIndex(k)] = int32(fd)
	f.have |= k
}

// get returns the descriptor of kind k, one kind, if set.
func (f *kindFds) get(k Kind) (int, bool) {
	if k == 0 || k&(k-1) != 0 || f.have&k != k {
		return -1, false
	}
	return int(f.fd[kindIndex(k)]), true
}

func (f *kindFds) len() int { return bits.OnesCount32(uint32(f.have)) }

// all yields each kind set and its descriptor.
func (f *kindFds) all() iter.Seq2[Kind, int] {
	return func(yield func(Kind, int) bool) {
		for k := range f.have.Each() {
			if !yield(k, int(f.fd[kindIndex(k)])) {
				return
			}
		}
	}
}
