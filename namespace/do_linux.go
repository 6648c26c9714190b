package namespace

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// threadOrder is the order in which Do enters namespaces: mount last, after
// which the thread is never restored.
var threadOrder = []Kind{Cgroup, IPC, UTS, Net, PID, Mount}

// Do runs fn on an OS thread of its own that has entered the handle's
// namespaces, and returns fn's error, or the error entering them.
//
// The thread enters the kinds that a thread can: UTS, IPC, Net and Cgroup;
// PID for the children that fn starts (the thread's own PID never changes);
// and Mount, after unshare(CLONE_FS), which the thread cannot undo. Kinds the
// thread is in already are skipped. User and time namespaces cannot be entered
// by a multithreaded process (setns fails with EINVAL and EUSERS): if the
// handle holds one other than the caller's, Do returns an error and
// Handle.Spawn is the way in.
//
// fn runs on that thread alone: goroutines it starts run on other threads,
// in the caller's namespaces, not the handle's. After fn returns, the thread
// goes back to the Go scheduler only if every /proc/thread-self/ns link that a
// thread can change shows it in the process's own namespaces, those of
// /proc/self/ns; otherwise, and always after Mount, the runtime ends it. So
// a thread that other code moved and gave back (locked, setns, unlocked) ends
// too if Do runs on it. A panic in fn is raised again in the caller. fn must
// not close the handle: Close waits for Do to return.
//
// Do comes back to the process's namespace of each kind through a descriptor
// that it opens on first need and keeps for the life of the process: one for
// each of Cgroup, IPC, UTS, Net and PID at most. It also keeps, for up to 16
// threads that it gave back to the scheduler, a descriptor on the thread's
// /proc/thread-self/ns, so that its next call on that thread reads the links
// without opening the directory again.
//
// A Do inside fn (nested) does not start from the outer Do's namespaces: the
// outer fn's thread stays locked to the outer call, and the inner fn runs on
// another thread from the scheduler, in the process's namespaces (Do gives a
// thread back only once it has proven that), which enters the inner handle's
// namespaces from there. So the inner fn sees the inner handle's
// namespaces and, for every kind the inner handle lacks, the process's, not
// the outer handle's: what one fn sees is one handle's namespaces and the
// process's. Code that switches its own locked thread (setns with
// vishvananda/netns, say) nests the other way, each switch starting from the
// last; and containernetworking's ns.NetNS.Do, which also runs its callback
// on a new thread, passes it the calling thread's namespace, in a nested call
// the outer one's, as the "host" namespace.
//
// Entering a namespace needs CAP_SYS_ADMIN over its owner and in the caller's
// own user namespace; an unprivileged caller gets an error matching
// os.ErrPermission here, which says what works: Handle.Spawn, of a handle
// that holds the user namespace too (Join(pid, kinds|User)), whose child
// enters that user namespace and with it gains the rights for the rest.
func (h *Handle) Do(fn func() error) error {
	release, err := h.use()
	if err != nil {
		return err
	}
	defer release()
	var result error
	var panicked any
	onOwnThread(func() (clean bool) {
		if doTestHook != nil {
			doTestHook()
		}
		tid := unix.Gettid()
		t, kept, err := threadDirs.take(tid)
		if err != nil {
			result = err
			return true
		}
		defer func() {
			if clean {
				threadDirs.put(tid, t)
			} else {
				t.close()
			}
		}()
		home, err := processHome()
		if err != nil {
			result = err
			return true
		}
		var buf [8]entered
		saved, err := h.enterThread(t, buf[:0])
		if err != nil && kept && len(saved) == 0 && errors.Is(err, unix.ENOENT) {
			// The kept directory was that of an ended thread whose
			// TID this one has: it shows no links, and nothing was
			// entered. Open this thread's own and start again.
			t.close()
			if t, err = openThreadNS(); err != nil {
				result = err
				return true
			}
			saved, err = h.enterThread(t, buf[:0])
		}
		if err != nil {
			result = err
			return h.leaveThread(t, saved, home)
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					panicked = p
				}
			}()
			result = fn()
		}()
		return h.leaveThread(t, saved, home) && panicked == nil
	})
	if panicked != nil {
		panic(panicked)
	}
	return result
}

// maxThreadDirs is how many thread directories threadDirs keeps at most.
const maxThreadDirs = 16

// threadDirs keeps, for threads that Do gave back to the scheduler, the
// descriptor on each one's /proc/thread-self/ns, by TID: the runtime runs
// Do's goroutines on the same few threads, and the next Do on one of them
// reads its links without opening the directory (an open and a close cost
// 4.2 to 4.8 µs here, as much as two readlinks). A descriptor is taken out
// while a Do uses it, so none is shared or closed under a reader. A kept
// descriptor can outlive its thread (when other code ends the thread) and
// then shows no links at all: Do finds that at its first read, before it
// enters anything, and opens the directory of the thread it is on.
var threadDirs = dirCache{dirs: make(map[int]int)}

type dirCache struct {
	mu   sync.Mutex
	dirs map[int]int // TID → descriptor on that thread's /proc/thread-self/ns
}

// take returns the calling thread's kept directory, taken out of the cache,
// or opens it; kept reports which.
func (c *dirCache) take(tid int) (d nsDir, kept bool, err error) {
	c.mu.Lock()
	fd, kept := c.dirs[tid]
	delete(c.dirs, tid)
	c.mu.Unlock()
	if kept {
		return nsDir{fd, threadNSDir}, true, nil
	}
	d, err = openThreadNS()
	return d, false, err
}

// put keeps d, the directory of thread tid, closing another when the cache
// is full.
func (c *dirCache) put(tid int, d nsDir) {
	if d.fd < 0 {
		return // its open failed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if fd, ok := c.dirs[tid]; ok {
		unix.Close(fd) // not Do's (it took tid's out), but never two
	} else if len(c.dirs) >= maxThreadDirs {
		for other, fd := range c.dirs {
			unix.Close(fd)
			delete(c.dirs, other)
			break
		}
	}
	c.dirs[tid] = d.fd
}

// doTestHook, set only by tests, runs on Do's thread first, before it looks
// for a kept directory or reads a link.
var doTestHook func()

// entered is one namespace that the thread left for the handle's, with a
// descriptor on the one it left.
type entered struct {
	kind   Kind
	back   int    // -1 for Mount, which is never restored
	shared bool   // back is the process's, from homeFDs: not to be closed
	left   uint64 // the inode number of the namespace the thread was in
}

// threadLink is one link of /proc/thread-self/ns: a kind's, or with children
// set the pid_for_children or time_for_children link.
type threadLink struct {
	kind     Kind
	children bool
	cname    *byte // the name, NUL-terminated, for readlinkat
}

func (l threadLink) name() string {
	if l.children {
		return l.kind.String() + "_for_children"
	}
	return l.kind.String()
}

func newThreadLink(k Kind, children bool) threadLink {
	l := threadLink{kind: k, children: children}
	l.cname = &append([]byte(l.name()), 0)[0]
	return l
}

// threadLinks are the links of every kind the kernel has. threadMutable are
// those that a thread of a Go process can change: a Go process always has
// several threads (the runtime starts them before any user code), and the
// kernel refuses a multithreaded process a new user namespace (setns and
// unshare fail with EINVAL) and a new time namespace for itself (setns fails
// with EUSERS; unshare only changes time_for_children), and a thread's own PID
// namespace never changes. So the user, time and pid links of every thread are
// the process's for as long as it lives, and Do compares only the others.
var threadLinks, threadMutable = func() (all, mutable []threadLink) {
	for k := range procfs.Supported().Each() {
		all = append(all, newThreadLink(k, false))
		if k != User && k != Time && k != PID {
			mutable = append(mutable, all[len(all)-1])
		}
		if k == PID || k == Time {
			all = append(all, newThreadLink(k, true))
			mutable = append(mutable, all[len(all)-1])
		}
	}
	return all, mutable
}()

// snapshot is the inode numbers of a thread's namespace links, in the order
// of the links it was read for, by readlink(2), which is cheaper than any
// call that gives a namespace ID (NS_GET_ID).
//
// Inode numbers are enough for what Do and Spawn compare them with: two
// namespaces alive at the same moment never share one (the kernel reuses a
// number only once its namespace is gone), and every comparison is with a
// namespace that something holds alive meanwhile: a handle's namespaces, held
// by its descriptors; those of homeFDs, held likewise; the process's user and
// time namespaces, which it cannot leave; and the process's namespaces of
// /proc/self/ns (home), which its main thread holds as long as it stays in
// them. The exception is a whole process moved elsewhere (every thread, as
// syscall.AllThreadsSyscall can) whose old namespaces then ended and whose
// numbers a new namespace took: leaveThread could then find a thread in
// that new namespace at home. Do reads home again whenever a thread is
// found elsewhere, which narrows that to a thread that was in the new
// namespace before Do ran on it.
type snapshot struct {
	links []threadLink
	ino   [16]uint64
}

// inoOf returns the inode number of the namespace of kind k's link, or its
// _for_children link, or 0 if the snapshot lacks it or the link was absent:
// pid_for_children is absent after unshare until a first child exists.
func (s *snapshot) inoOf(k Kind, children bool) uint64 {
	for i, l := range s.links {
		if l.kind == k && l.children == children {
			return s.ino[i]
		}
	}
	return 0
}

// ownLink returns the link of kind k itself, not its _for_children one.
func ownLink(k Kind) threadLink { return linkFor(k, false) }

// linkFor returns the link of kind k, or its _for_children one.
func linkFor(k Kind, children bool) threadLink {
	for _, l := range threadLinks {
		if l.kind == k && l.children == children {
			return l
		}
	}
	return newThreadLink(k, children)
}

// nsDir is a descriptor on a /proc directory of namespace links: the
// calling thread's /proc/thread-self/ns, valid only on that thread (the
// goroutine must be locked to it), or the process's /proc/self/ns.
type nsDir struct {
	fd   int
	path string
}

const threadNSDir = "/proc/thread-self/ns"

var (
	threadNSDirC  = &append([]byte(threadNSDir), 0)[0]
	processNSDirC = &append([]byte("/proc/self/ns"), 0)[0]
)

func openThreadNS() (nsDir, error) { return openNSDir(threadNSDirC, threadNSDir) }

func openNSDir(cpath *byte, path string) (nsDir, error) {
	if _, err := procfs.NsfsDevice(); err != nil {
		return nsDir{-1, path}, err
	}
	fd, err := rawOpenat(unix.AT_FDCWD, cpath, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return nsDir{-1, path}, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return nsDir{fd, path}, nil
}

func (d nsDir) close() { unix.Close(d.fd) }

// rawOpenat is openat(2) of a NUL-terminated name as a raw system call, which
// Do uses on its locked thread for opens that do not block: no allocation,
// and no hand-off of the thread's P.
func rawOpenat(dir int, name *byte, flags int) (int, error) {
	fd, _, e := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(dir), uintptr(unsafe.Pointer(name)), uintptr(flags), 0, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// read fills s with the given links, by readlink through the descriptor,
// but for the kinds in keep, whose own links (not the _for_children ones)
// keep the value they have in s.
func (d nsDir) read(s *snapshot, links []threadLink, keep Kind) error {
	s.links = links
	for i, l := range links {
		if !l.children && keep.Has(l.kind) {
			continue
		}
		ino, err := d.readLink(l)
		if err != nil {
			return err
		}
		s.ino[i] = ino
	}
	return nil
}

// readLink returns the inode number of the namespace that link l names, or 0
// if l is a _for_children link and absent. A kind's own link is always there
// for a live thread: without it (ENOENT) the directory is an ended thread's.
func (d nsDir) readLink(l threadLink) (uint64, error) {
	var buf [64]byte
	// A raw system call: the thread is locked and the call is short, and
	// Do makes several of them.
	n, _, e := unix.RawSyscall6(unix.SYS_READLINKAT, uintptr(d.fd), uintptr(unsafe.Pointer(l.cname)),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	switch {
	case e == unix.ENOENT && l.children:
		return 0, nil
	case e != 0:
		return 0, &os.PathError{Op: "readlink", Path: d.path + "/" + l.name(), Err: e}
	}
	// ParseLink keeps nothing of the text: no copy of buf for it.
	_, ino, err := procfs.ParseLink(unsafe.String(&buf[0], n))
	return ino, err
}

// threadSnapshot reads every namespace link of the calling thread.
func threadSnapshot() (*snapshot, error) {
	return readSnapshot(threadNSDirC, threadNSDir, threadLinks)
}

// readSnapshot reads the given links of the /proc directory at path (cpath
// NUL-terminated).
func readSnapshot(cpath *byte, path string, links []threadLink) (*snapshot, error) {
	d, err := openNSDir(cpath, path)
	if err != nil {
		return nil, err
	}
	defer d.close()
	s := new(snapshot)
	if err := d.read(s, links, 0); err != nil {
		return nil, err
	}
	return s, nil
}

// processFixed is the calling process's user and time namespaces, which no
// thread of a Go process can leave (see threadMutable).
var processFixed = sync.OnceValues(threadSnapshot)

// home is the process's namespaces, those of /proc/self/ns, read for the
// links that a thread can change: where Do must find a thread and leave it.
// It is read once and again whenever a thread is found elsewhere, in case
// the whole process moved (every thread, as syscall.AllThreadsSyscall can).
var home atomic.Pointer[snapshot]

func processHome() (*snapshot, error) {
	if s := home.Load(); s != nil {
		return s, nil
	}
	return readHome()
}

func readHome() (*snapshot, error) {
	s, err := readSnapshot(processNSDirC, "/proc/self/ns", threadMutable)
	if err != nil {
		return nil, err
	}
	home.Store(s)
	return s, nil
}

// homeFD is a descriptor on the process's namespace of one kind, and which
// namespace that is.
type homeFD struct {
	fd int
	id ID
}

// homeFDs opens, once per kind and then for the life of the process, a
// descriptor on the process's namespace of that kind, through which Do takes
// a thread back: at most one descriptor for each kind Do can enter and
// restore, rather than an open and a close of the thread's own link on every
// call (7.5 to 8.8 µs here, against 2.3 to 2.9 µs for the readlink that finds
// the thread in the namespace this descriptor is on). The process's user and
// time namespaces never need one, and Mount is never restored.
var homeFDs = func() map[Kind]func() (homeFD, error) {
	m := make(map[Kind]func() (homeFD, error))
	for _, k := range threadOrder {
		if k == Mount {
			continue
		}
		m[k] = sync.OnceValues(func() (homeFD, error) {
			path := "/proc/self/ns/" + k.String()
			fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return homeFD{-1, ID{}}, &os.PathError{Op: "open", Path: path, Err: err}
			}
			id, err := procfs.StatFD(fd)
			if err != nil {
				unix.Close(fd)
				return homeFD{-1, ID{}}, fmt.Errorf("%s: %w", path, err)
			}
			return homeFD{fd, id}, nil
		})
	}
	return m
}()

// enterThread moves the calling, locked thread into the handle's namespaces.
// It returns what it entered, also on failure, for leaveThread.
//
// done is appended to; Do passes a slice on its stack.
func (h *Handle) enterThread(t nsDir, done []entered) ([]entered, error) {
	for _, k := range []Kind{User, Time} {
		id, ok := h.ids[k]
		if !ok {
			continue
		}
		fixed, err := processFixed()
		if err != nil {
			return nil, err
		}
		if id.Ino != fixed.inoOf(k, false) {
			return nil, fmt.Errorf("join %s %s: a Go thread cannot enter a %s namespace (setns refuses a multithreaded process): use Handle.Spawn", h.what(), k, k)
		}
	}
	for _, k := range threadOrder {
		id, ok := h.ids[k]
		if !ok {
			continue
		}
		// For PID, what the thread's children would be in.
		ino, err := t.readLink(linkFor(k, k == PID))
		if err != nil {
			return done, h.joinError(k, err)
		}
		if ino == id.Ino {
			continue
		}
		e := entered{kind: k, back: -1, left: ino}
		switch k {
		case Mount:
			if err := unix.Unshare(unix.CLONE_FS); err != nil {
				return done, h.joinError(k, os.NewSyscallError("unshare CLONE_FS", err))
			}
			done = append(done, e) // the thread shares no file system state now
		default:
			if hfd, err := homeFDs[k](); err == nil && hfd.id.Ino == ino {
				e.back, e.shared = hfd.fd, true
				break
			}
			// The thread is not in the process's namespace, or the
			// descriptor on that is missing: back to where it was.
			// For PID, the thread's own namespace is where
			// pid_for_children returns.
			fd, err := rawOpenat(t.fd, ownLink(k).cname, unix.O_RDONLY|unix.O_CLOEXEC)
			if err != nil {
				return done, h.joinError(k, &os.PathError{Op: "open", Path: threadNSDir + "/" + k.String(), Err: err})
			}
			e.back = fd
		}
		fd, _ := h.fds.get(k)
		if err := unix.Setns(fd, int(k)); err != nil {
			if e.back >= 0 && !e.shared {
				unix.Close(e.back)
			}
			return done, h.joinError(k, os.NewSyscallError("setns", err))
		}
		if k != Mount {
			done = append(done, e)
		}
	}
	return done, nil
}

// leaveThread returns the thread to the namespaces it left and reports
// whether it provably is in the process's namespaces, home: clean to return
// to the scheduler. A thread found elsewhere is never clean, even when it is
// back where it was: the runtime ends it.
//
// A kind that setns restored from a descriptor on a namespace that is still
// the process's is proven back by setns itself; every other link is read
// again and compared. PID is not one of those: its descriptor is the
// process's PID namespace, which pid_for_children need not have been.
func (h *Handle) leaveThread(t nsDir, done []entered, want *snapshot) bool {
	clean := true
	var restored Kind
	for i := len(done) - 1; i >= 0; i-- {
		e := done[i]
		if e.back < 0 {
			clean = false // Mount, or CLONE_FS given up
			continue
		}
		if unix.Setns(e.back, int(e.kind)) != nil {
			clean = false
		} else if e.shared && e.kind != PID && e.left == want.inoOf(e.kind, false) {
			restored |= e.kind
		}
		if !e.shared {
			unix.Close(e.back)
		}
	}
	if !clean {
		return false
	}
	after := *want
	if t.read(&after, want.links, restored) != nil {
		return false
	}
	if after.ino == want.ino {
		return true
	}
	// Perhaps the whole process moved: compare with /proc/self/ns as it
	// is now, and read it afresh for the next calls.
	now, err := readHome()
	return err == nil && after.ino == now.ino
}

func (h *Handle) joinError(k Kind, err error) error {
	if errors.Is(err, unix.EPERM) && !hasCapSysAdmin() {
		return fmt.Errorf("join %s %s: %w (Do needs CAP_SYS_ADMIN; without it, a process enters namespaces through the user namespace that owns them: use Handle.Spawn with User among the handle's kinds, as Join(pid, kinds|namespace.User) gives)", h.what(), k, err)
	}
	return fmt.Errorf("join %s %s: %w", h.what(), k, err)
}

func hasCapSysAdmin() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if unix.Capget(&hdr, &data[0]) != nil {
		return false
	}
	return data[0].Effective&(1<<unix.CAP_SYS_ADMIN) != 0
}
