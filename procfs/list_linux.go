package procfs

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Namespace is one namespace on the host as List finds it, with the columns of
// util-linux lsns and the hierarchy of ioctl_ns(2).
type Namespace struct {
	Kind  Kind
	ID    ID
	Procs int // processes in it; 0 when only an open file or a bind mount holds it
	PID   int // the lowest PID in it; 0 when Procs is 0
	// UID owns /proc/PID (the process's effective user ID, as lsns shows it);
	// -1 when Procs is 0.
	UID int
	// Command is the command line of PID, arguments joined by spaces, or the
	// thread name of a kernel thread; empty when Procs is 0.
	Command string
	// Path opens the namespace: /proc/PID/ns/KIND, a bind mount of its nsfs
	// file, or /proc/PID/fd/N of a descriptor that holds it.
	Path string

	// Hierarchy is the owner and parent, from ioctl_ns(2).
	Hierarchy
	// HierarchyErr says why Hierarchy is empty or partial: an error matching
	// ErrNotSupported on a kernel without the ioctl, or the error opening
	// Path. It never fails the list.
	HierarchyErr error
}

// ListOption narrows what List returns or asks it for more.
type ListOption func(*listOptions)

type listOptions struct {
	kinds     Kind
	pid       int
	hierarchy bool
}

// OfKind keeps the namespaces of the kinds in k.
func OfKind(k Kind) ListOption { return func(o *listOptions) { o.kinds &= k } }

// OfPID keeps the namespaces that process pid is in, as lsns -p does; their
// Procs still count every process in them.
func OfPID(pid int) ListOption { return func(o *listOptions) { o.pid = pid } }

// WithHierarchy fills each Namespace's Hierarchy (owner, parent, owner UID)
// from ioctl_ns(2), at the cost of an open and up to three ioctls per
// namespace. Without it those fields are zero and OwnerUID is -1.
func WithHierarchy() ListOption { return func(o *listOptions) { o.hierarchy = true } }

type nsKey struct {
	kind Kind
	ino  uint64
}

// List returns every namespace on the host that the caller can see, like
// util-linux lsns: those that processes are in (read from /proc/PID/ns), and
// those that only a bind mount in the caller's mount namespace (an nsfs entry
// in /proc/self/mountinfo) or an open descriptor (/proc/PID/fd) holds, with
// Procs 0. Processes that exit during the scan, or that the caller may not
// inspect, are skipped. The result is sorted by inode number, then kind.
//
// Options narrow the result or add to it: List(OfKind(Net), OfPID(42)),
// List(WithHierarchy()). The scan runs on GOMAXPROCS goroutines.
func List(opts ...ListOption) ([]Namespace, error) {
	o := listOptions{kinds: All}
	for _, opt := range opts {
		opt(&o)
	}
	kinds := o.kinds & Supported()
	var want map[nsKey]bool
	if o.pid != 0 {
		own, err := Namespaces(o.pid)
		if err != nil {
			return nil, err
		}
		want = make(map[nsKey]bool, len(own))
		for k, id := range own {
			want[nsKey{k, id.Ino}] = true
		}
	}
	pids, err := allPIDs()
	if err != nil {
		return nil, err
	}
	dev, err := nsfsDevice()
	if err != nil {
		return nil, err
	}
	found := scanAll(pids, kinds, dev)
	addHeldByMounts(found, kinds)

	out := make([]Namespace, 0, len(found))
	for key, ns := range found {
		if want == nil || want[key] {
			out = append(out, *ns)
		}
	}
	if o.hierarchy {
		parallel(len(out), func(i int) {
			out[i].Hierarchy, out[i].HierarchyErr = hierarchyOf(out[i].Path, out[i].Kind)
		})
	} else {
		for i := range out {
			out[i].OwnerUID = -1
		}
	}
	slices.SortFunc(out, func(a, b Namespace) int {
		return cmp.Or(cmp.Compare(a.ID.Ino, b.ID.Ino), cmp.Compare(a.Kind, b.Kind))
	})
	return out, nil
}

// parallel calls fn(0) ... fn(n-1) on GOMAXPROCS goroutines.
func parallel(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(n, 1)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// scanAll reads the namespaces and namespace descriptors of every process,
// in chunks of PIDs on GOMAXPROCS goroutines, and merges what they found.
func scanAll(pids []int, kinds Kind, dev uint64) map[nsKey]*Namespace {
	const chunk = 64
	chunks := (len(pids) + chunk - 1) / chunk
	results := make([]*scanner, chunks)
	parallel(chunks, func(i int) {
		sc := newScanner(kinds, dev)
		for _, pid := range pids[i*chunk : min((i+1)*chunk, len(pids))] {
			sc.scan(pid)
		}
		results[i] = sc
	})
	found := make(map[nsKey]*Namespace, 64)
	for _, sc := range results {
		for key, ns := range sc.found {
			have := found[key]
			switch {
			case have == nil:
				found[key] = ns
			case ns.PID < have.PID:
				ns.Procs += have.Procs
				ns.ID.NSID = max(ns.ID.NSID, have.ID.NSID) // one may lack it
				found[key] = ns
			default:
				have.Procs += ns.Procs
				have.ID.NSID = max(have.ID.NSID, ns.ID.NSID)
			}
		}
	}
	// A descriptor's namespace is listed as held only if no process is in it.
	for _, sc := range results {
		for key, ns := range sc.held {
			if found[key] == nil {
				found[key] = ns
			}
		}
	}
	return found
}

// scanner reads processes for List with as few system calls as it can: one
// directory descriptor per process and readlink(2) for the namespace links.
type scanner struct {
	kinds   Kind
	dev     uint64               // the nsfs device
	handles bool                 // nsfs has file handles, which give namespace IDs (HaveNSID)
	found   map[nsKey]*Namespace // namespaces with processes
	held    map[nsKey]*Namespace // namespaces open as descriptors
	path    []byte
	link    []byte
	dents   []byte
	file    []byte // contents of a small /proc file
	cname   []byte // the NUL-terminated /proc/PID path, for rawOpenat
}

func newScanner(kinds Kind, dev uint64) *scanner {
	return &scanner{
		kinds: kinds, dev: dev, handles: HaveNSID(), found: map[nsKey]*Namespace{}, held: map[nsKey]*Namespace{},
		path: make([]byte, 0, 64), link: make([]byte, 128), dents: make([]byte, 8192),
		file: make([]byte, 4096),
	}
}

func (sc *scanner) scan(pid int) {
	sc.path = strconv.AppendInt(append(sc.path[:0], "/proc/"...), int64(pid), 10)
	dir, err := rawOpenat(unix.AT_FDCWD, cString(&sc.cname, sc.path), unix.O_DIRECTORY)
	if err != nil {
		return // gone
	}
	defer rawClose(dir)
	nsDir, err := rawOpenat(dir, &strNS[0], unix.O_DIRECTORY)
	if err != nil {
		return // not ours to read, or gone
	}
	defer rawClose(nsDir)
	var info *procInfo
	for k := range sc.kinds.Each() {
		name := k.String()
		n, err := rawReadlinkat(nsDir, nsName[k], sc.link)
		if err != nil {
			continue // not ours to read, or gone
		}
		lk, ino, err := ParseLink(view(sc.link[:n]))
		if err != nil || lk != k {
			continue
		}
		key := nsKey{k, ino}
		if ns := sc.found[key]; ns != nil {
			ns.Procs++
			if sc.handles && ns.ID.NSID == 0 {
				// The first process gave no handle: this one may.
				if h, err := nameToHandle(nsDir, name, true); err == nil && uint64(h.Ino) == ino {
					ns.ID.NSID = h.NSID
				}
			}
			continue
		}
		// A namespace seen first: its ID, with the NSID where the
		// kernel has one, from the link's file handle. A process whose
		// link gives no handle (it exited or changed meanwhile) still
		// counts, under the number its link read; a later process of the
		// namespace may give the NSID.
		id := ID{Dev: sc.dev, Ino: ino}
		if sc.handles {
			if h, err := nameToHandle(nsDir, name, true); err == nil {
				if uint64(h.Ino) != ino {
					// The process moved since the readlink: take the
					// namespace it is in now.
					key.ino = uint64(h.Ino)
					if ns := sc.found[key]; ns != nil {
						ns.Procs++
						continue
					}
				}
				id.Ino, id.NSID = uint64(h.Ino), h.NSID
			}
		}
		// PIDs ascend within a scanner, so the first process seen in a
		// namespace is its lowest: the one whose columns lsns shows.
		if info == nil {
			i := sc.readProcInfo(dir)
			info = &i
		}
		sc.found[key] = &Namespace{
			Kind: k, ID: id, Procs: 1,
			PID: pid, UID: info.uid, Command: info.command,
			Path: string(sc.path) + "/ns/" + name,
		}
	}
	sc.scanFiles(dir)
}

// scanFiles records the namespaces that the process's descriptors hold.
func (sc *scanner) scanFiles(dir int) {
	fdDir, err := rawOpenat(dir, &strFD[0], unix.O_DIRECTORY)
	if err != nil {
		return
	}
	defer rawClose(fdDir)
	for {
		n, err := rawGetdents(fdDir, sc.dents)
		if err != nil || n <= 0 {
			return
		}
		sc.readFdLinks(fdDir, sc.dents[:n])
		// procfs fills the buffer until the descriptors run out: a read that
		// leaves room for more entries was the last, and the getdents(2)
		// that would return 0 can be saved.
		if n < len(sc.dents)-512 {
			return
		}
	}
}

// readFdLinks reads the links of the entries of a /proc/PID/fd directory in
// buf, linux_dirent64 records from getdents(2), using each NUL-terminated
// name where it lies.
func (sc *scanner) readFdLinks(fdDir int, buf []byte) {
	const nameOff = 19 // d_ino, d_off, d_reclen, d_type
	for len(buf) > nameOff {
		reclen := int(*(*uint16)(unsafe.Pointer(&buf[16])))
		if reclen < nameOff+1 || reclen > len(buf) {
			return
		}
		name, rec := &buf[nameOff], buf[:reclen]
		buf = buf[reclen:]
		if rec[nameOff] == '.' {
			continue // . and ..
		}
		n, err := rawReadlinkat(fdDir, name, sc.link)
		// Namespaces read "KIND:[INODE]"; files start with '/', and sockets,
		// pipes and anonymous inodes name no namespace kind.
		if err != nil || n == 0 || sc.link[0] == '/' || sc.link[n-1] != ']' {
			continue
		}
		k, ino, err := ParseLink(view(sc.link[:n]))
		if err != nil || !sc.kinds.Has(k) || sc.held[nsKey{k, ino}] != nil {
			continue
		}
		fd := unix.ByteSliceToString(rec[nameOff:])
		if id, err := idAt(fdDir, fd); err == nil && id.Ino == ino {
			sc.held[nsKey{k, ino}] = held(k, id, string(sc.path)+"/fd/"+fd)
		}
	}
}

// NsfsDevice returns the device number of every namespace file: the kernel
// keeps one internal nsfs mount for all namespaces (fs/nsfs.c, nsfs_init).
// With it, the inode number in a link's text (readlink(2), ParseLink) is a
// whole ID, which is cheaper to get than by stat(2): following a namespace
// link makes the kernel find, or build and free, the namespace's nsfs inode,
// and readlink only prints its number. The answer is computed once.
func NsfsDevice() (uint64, error) { return nsfsDevice() }

func nsfsDevice() (uint64, error) {
	info, err := probeNsfs()
	return info.dev, err
}

// held returns a namespace that no process is in, which path holds open.
func held(k Kind, id ID, path string) *Namespace {
	return &Namespace{Kind: k, ID: id, UID: -1, Path: path}
}

// nsName is the NUL-terminated link name of each kind under /proc/PID/ns.
var nsName = func() map[Kind]*byte {
	m := make(map[Kind]*byte, len(kinds))
	for _, e := range kinds {
		m[e.kind] = &append([]byte(e.name), 0)[0]
	}
	return m
}()

// cString copies s with a NUL into *buf and returns a pointer to it.
func cString[S string | []byte](buf *[]byte, s S) *byte {
	*buf = append(append((*buf)[:0], s...), 0)
	return &(*buf)[0]
}

var (
	strNS = [...]byte{'n', 's', 0}
	strFD = [...]byte{'f', 'd', 0}
)

// rawOpenat, rawGetdents and rawClose are the calls of rawReadlinkat's kind
// for opening and reading /proc/PID directories, which take no lock that
// waits on another process either.
func rawOpenat(dir int, name *byte, flags int) (int, error) {
	fd, _, e := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(dir), uintptr(unsafe.Pointer(name)),
		uintptr(flags|unix.O_RDONLY|unix.O_CLOEXEC), 0, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

func rawGetdents(fd int, buf []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_GETDENTS64, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func rawClose(fd int) { unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0) }

// rawReadlinkat is readlinkat(2) without the Go scheduler's system call
// bookkeeping. The scan makes thousands of readlinks of /proc/PID/ns and
// /proc/PID/fd links, which take only spinlocks and RCU in the kernel
// (ptrace_may_access, task_lock, the files table, d_path) and wait on no
// other process; the bookkeeping around each (entersyscall, P hand-offs to
// spinning threads) cost a sixth of List's time here. Never use it for a file
// whose read can wait on another process, such as /proc/PID/cmdline, which
// takes the target's mmap lock.
func rawReadlinkat(dir int, name *byte, buf []byte) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_READLINKAT, uintptr(dir), uintptr(unsafe.Pointer(name)),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// allPIDs lists the numeric entries of /proc.
func allPIDs() ([]int, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if n[0] >= '1' && n[0] <= '9' {
			if pid, err := strconv.Atoi(n); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	slices.Sort(pids)
	return pids, nil
}

type procInfo struct {
	uid     int
	command string
}

// readProcInfo reads the columns lsns shows for the process whose /proc/PID
// directory is open at dir: the owner of that directory, and the command line
// (the thread name for kernel threads, which have none).
func (sc *scanner) readProcInfo(dir int) procInfo {
	info := procInfo{uid: -1}
	var st unix.Stat_t
	if unix.Fstat(dir, &st) == nil {
		info.uid = int(st.Uid)
	}
	if b := sc.readSmall(dir, "cmdline"); len(b) > 0 {
		info.command = string(bytes.ReplaceAll(bytes.TrimRight(b, "\x00"), []byte{0}, []byte{' '}))
	} else {
		info.command = string(bytes.TrimSuffix(sc.readSmall(dir, "comm"), []byte{'\n'}))
	}
	return info
}

// readSmall reads up to 4 KiB of a file in the directory open at dir into the
// scanner's buffer.
func (sc *scanner) readSmall(dir int, name string) []byte {
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	n, err := unix.Read(fd, sc.file)
	if err != nil {
		return nil
	}
	return sc.file[:n]
}

func hierarchyOf(path string, kind Kind) (Hierarchy, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Hierarchy{OwnerUID: -1}, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	return ReadHierarchy(fd, kind)
}

// addHeldByMounts adds the namespaces bound to paths in the caller's mount
// namespace (nsfs entries of /proc/self/mountinfo) that no process is in.
func addHeldByMounts(found map[nsKey]*Namespace, kinds Kind) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		root, point, fstype, ok := parseMountinfoLine(sc.Text())
		if !ok || fstype != "nsfs" {
			continue
		}
		k, ino, err := ParseLink(root)
		if err != nil || !kinds.Has(k) || found[nsKey{k, ino}] != nil {
			continue
		}
		if id, err := idAt(unix.AT_FDCWD, point); err == nil && id.Ino == ino {
			found[nsKey{k, ino}] = held(k, id, point)
		}
	}
}

// parseMountinfoLine returns the root, mount point and file system type of a
// line of /proc/PID/mountinfo (proc(5)).
func parseMountinfoLine(line string) (root, point, fstype string, ok bool) {
	pre, post, ok := strings.Cut(line, " - ")
	if !ok {
		return "", "", "", false
	}
	f := strings.Fields(pre)
	g := strings.Fields(post)
	if len(f) < 5 || len(g) < 1 {
		return "", "", "", false
	}
	return unescapeOctal(f[3]), unescapeOctal(f[4]), g[0], true
}

// unescapeOctal undoes the \NNN escapes of mountinfo fields.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// UserNode is a user namespace in the tree that UserTree builds.
type UserNode struct {
	Namespace             // the user namespace
	Owned     []Namespace // the namespaces of other kinds that it owns
	Children  []*UserNode // the user namespaces whose parent it is
}

// UserTree arranges the namespaces of a List result as a tree of user
// namespaces, each with the namespaces it owns. The roots are the user
// namespaces whose parent is not in the list (the initial one, or the
// caller's own when it is not initial). Namespaces whose owner is unknown or
// not in the list are left out.
func UserTree(list []Namespace) []*UserNode {
	nodes := map[ID]*UserNode{}
	for _, ns := range list {
		if ns.Kind == User {
			nodes[ns.ID] = &UserNode{Namespace: ns}
		}
	}
	var roots []*UserNode
	for _, ns := range list {
		if ns.Kind == User {
			if p := nodes[ns.Parent]; p != nil && ns.Parent != (ID{}) {
				p.Children = append(p.Children, nodes[ns.ID])
			} else {
				roots = append(roots, nodes[ns.ID])
			}
			continue
		}
		if o := nodes[ns.Owner]; o != nil {
			o.Owned = append(o.Owned, ns)
		}
	}
	return roots
}

// String returns the namespace as lsns shows it: NS TYPE NPROCS PID UID
// COMMAND.
func (ns Namespace) String() string {
	return fmt.Sprintf("%d %s %d %d %d %s", ns.ID.Ino, ns.Kind, ns.Procs, ns.PID, ns.UID, ns.Command)
}

// view returns b as a string without copying it, for a callee that does not
// keep the string (ParseLink): the scan parses thousands of links.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
