package namespace

// The mounts of a handle's mount namespace, read from outside: listmount(2)
// and statmount(2) where the kernel has what they need, /proc mountinfo
// otherwise.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// MountInfo is one mount of a mount namespace: what a line of
// /proc/PID/mountinfo says of it (see proc_pid_mountinfo(5)), and what
// statmount(2) says of it, which is the same.
type MountInfo struct {
	ID       int // the mount's ID, as mountinfo shows it; reused once the mount is gone
	ParentID int // the ID of the mount it is on; for the namespace's root, that of a mount not listed

	Major, Minor uint32 // the file system's device (st_dev)

	Root   string // the directory of the file system mounted at Target: "/", or a bind-mounted subdirectory
	Target string // the mount point, from the namespace's root directory
	FSType string // the file system type, "type.subtype" for one with a subtype: "ext4", "fuse.sshfs"
	Source string // what was mounted: "/dev/sda1", "tmpfs", "none"

	// Options are the per-mount options: "rw" or "ro", then nosuid, nodev,
	// noexec, noatime, nodiratime, relatime, nosymfollow and idmapped as
	// they apply, as in mountinfo.
	Options string
	// SuperOptions are the super block's: "rw" or "ro", then sync,
	// dirsync, lazytime, the security module's and the file system's own
	// options, as in mountinfo.
	SuperOptions string

	// Propagation: the peer group a shared mount belongs to (0 if it is
	// not shared); the peer group a slave receives mounts from (0 if it is
	// not a slave), and the nearest dominant peer group of that master
	// which is in this namespace, when it is not the master itself.
	Shared, Master, PropagateFrom int
	Unbindable                    bool // mount --make-unbindable
	Idmapped                      bool // an idmapped mount (MOUNT_ATTR_IDMAP, Linux 5.12)
}

// Mounts lists the mounts of the handle's mount namespace, in the order the
// kernel keeps them (that of mountinfo): their mount points are paths from
// the namespace's root directory, as its processes see them unless they
// chroot.
//
// Where the kernel has statmount(2) and listmount(2) for another mount
// namespace with every field of MountInfo (Linux 6.15: listmount of a
// namespace by its 64-bit ID, Linux 6.11, which ioctl NS_MNT_GET_INFO gives,
// Linux 6.12; the source and subtype, Linux 6.13; the mask of supported
// fields, Linux 6.15), Mounts reads them without entering the namespace.
// Otherwise it reads /proc/thread-self/mountinfo on a thread of its own that
// entered the namespace, as Do does (the runtime ends the thread afterwards),
// which needs CAP_SYS_ADMIN; or, for a caller without it, /proc/PID/mountinfo
// of the process that Join pinned the handle from, checked to be still that
// process and still in that namespace. Each way gives the same rows, in the
// same order, but for a process that chrooted: its mountinfo shows paths
// from its root directory, and leaves out the mounts outside it.
//
// Listing the mounts of a mount namespace owned by a user namespace other
// than the caller's needs CAP_SYS_ADMIN over that user namespace, as an
// unprivileged caller has over the namespaces it created; otherwise the error
// matches os.ErrPermission or, from listmount, os.ErrNotExist. A handle
// without Mount gives an error matching os.ErrInvalid.
func (h *Handle) Mounts() ([]MountInfo, error) {
	release, err := h.use()
	if err != nil {
		return nil, err
	}
	defer release()
	fd, ok := h.fds.get(Mount)
	if !ok {
		return nil, fmt.Errorf("mounts of %s: the handle holds no mount namespace: %w", h.what(), os.ErrInvalid)
	}
	fallback := mountsFallbackTestHook
	if fallback == "" {
		mounts, err := listMounts(fd)
		if !errors.Is(err, ErrNotSupported) {
			if err != nil {
				return nil, fmt.Errorf("mounts of %s: %w", h.what(), err)
			}
			return mounts, nil
		}
	}
	var text []byte
	if fallback == "thread" || fallback == "" && hasCapSysAdmin() {
		text, err = h.threadMountinfo(fd)
	} else {
		text, err = h.processMountinfo(fd)
	}
	if err != nil {
		return nil, fmt.Errorf("mounts of %s: %w", h.what(), err)
	}
	mounts, err := parseMountinfo(bytes.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("mounts of %s: %w", h.what(), err)
	}
	return mounts, nil
}

// mountsFallbackTestHook, set only by tests, makes Mounts read mountinfo as
// on a kernel without statmount: "thread" or "process" says how.
var mountsFallbackTestHook string

// statmount is struct statmount of include/uapi/linux/mount.h (Linux 6.15),
// which golang.org/x/sys lacks: fixed fields, then the strings, whose
// offsets from the end of the fixed part the [str] fields give.
type statmount struct {
	Size           uint32
	MntOpts        uint32 // [str] the file system's options, comma separated, escaped
	Mask           uint64 // what the kernel wrote
	SbDevMajor     uint32
	SbDevMinor     uint32
	SbMagic        uint64
	SbFlags        uint32 // SB_{RDONLY,SYNCHRONOUS,DIRSYNC,LAZYTIME}
	FsType         uint32 // [str]
	MntID          uint64 // the unique 64-bit ID
	MntParentID    uint64
	MntIDOld       uint32 // the ID of mountinfo
	MntParentIDOld uint32
	MntAttr        uint64 // MOUNT_ATTR_*
	MntPropagation uint64 // MS_{SHARED,SLAVE,PRIVATE,UNBINDABLE}
	MntPeerGroup   uint64
	MntMaster      uint64
	PropagateFrom  uint64
	MntRoot        uint32 // [str]
	MntPoint       uint32 // [str]
	MntNsID        uint64
	FsSubtype      uint32 // [str]
	SbSource       uint32 // [str]
	OptNum         uint32
	OptArray       uint32 // [str]
	OptSecNum      uint32
	OptSecArray    uint32 // [str]
	SupportedMask  uint64
	MntUIDMapNum   uint32
	MntUIDMap      uint32 // [str]
	MntGIDMapNum   uint32
	MntGIDMap      uint32 // [str]
	_              [43]uint64
}

// mntIDReq is struct mnt_id_req of include/uapi/linux/mount.h in its second
// published size (MNT_ID_REQ_SIZE_VER1, Linux 6.11), with the ID of the
// mount namespace to look in.
type mntIDReq struct {
	Size    uint32
	Spare   uint32 // mnt_ns_fd in later kernels; 0
	MntID   uint64
	Param   uint64 // statmount: the mask; listmount: the last ID listed
	MntNsID uint64
}

// mntNsInfo is struct mnt_ns_info of include/uapi/linux/nsfs.h (Linux 6.12).
type mntNsInfo struct {
	Size     uint32
	NrMounts uint32
	MntNsID  uint64
}

const (
	nsMntGetInfo = 0x8010b70a // _IOR(NSIO, 10, struct mnt_ns_info)

	statmountSbBasic       = 0x1
	statmountMntBasic      = 0x2
	statmountPropagateFrom = 0x4
	statmountMntRoot       = 0x8
	statmountMntPoint      = 0x10
	statmountFsType        = 0x20
	statmountMntOpts       = 0x80
	statmountFsSubtype     = 0x100
	statmountSbSource      = 0x200
	statmountSupportedMask = 0x1000

	// statmountWant is every field that a MountInfo needs.
	statmountWant = statmountSbBasic | statmountMntBasic | statmountPropagateFrom | statmountMntRoot |
		statmountMntPoint | statmountFsType | statmountMntOpts | statmountFsSubtype | statmountSbSource

	lsmtRoot = ^uint64(0) // LSMT_ROOT: list from the namespace's root mount

	sbRDONLY      = 0x1
	sbSYNCHRONOUS = 0x10
	sbDIRSYNC     = 0x80
	sbLAZYTIME    = 0x2000000
)

// statmountState caches what the kernel was found to have: 0 not probed yet,
// 1 everything Mounts needs, 2 not.
var statmountState atomic.Int32

// listMounts lists the mounts of the mount namespace of fd with listmount
// and statmount. It returns an error matching ErrNotSupported when the
// kernel lacks something they need, for the caller to read mountinfo.
func listMounts(fd int) ([]MountInfo, error) {
	if statmountState.Load() == 2 {
		return nil, errStatmount
	}
	info := mntNsInfo{Size: uint32(unsafe.Sizeof(mntNsInfo{}))}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), nsMntGetInfo, uintptr(unsafe.Pointer(&info))); e != 0 {
		if e == unix.ENOTTY || e == unix.EINVAL || e == unix.ENOSYS {
			statmountState.Store(2)
			return nil, errStatmount
		}
		return nil, os.NewSyscallError("ioctl NS_MNT_GET_INFO", e)
	}
	ids := make([]uint64, 0, max(info.NrMounts, 16))
	batch := make([]uint64, 256)
	req := mntIDReq{Size: uint32(unsafe.Sizeof(mntIDReq{})), MntID: lsmtRoot, MntNsID: info.MntNsID}
	for {
		n, _, e := unix.Syscall6(unix.SYS_LISTMOUNT, uintptr(unsafe.Pointer(&req)),
			uintptr(unsafe.Pointer(&batch[0])), uintptr(len(batch)), 0, 0, 0)
		if e != 0 {
			if e == unix.ENOSYS || e == unix.E2BIG {
				statmountState.Store(2)
				return nil, errStatmount
			}
			return nil, os.NewSyscallError("listmount", e)
		}
		ids = append(ids, batch[:n]...)
		if int(n) < len(batch) {
			break
		}
		req.Param = batch[n-1]
	}
	buf := make([]byte, 4096)
	mounts := make([]MountInfo, 0, len(ids))
	for _, id := range ids {
		var m MountInfo
		var err error
		m, buf, err = statMount(id, info.MntNsID, buf)
		if errors.Is(err, unix.ENOENT) {
			continue // unmounted since listmount
		}
		if err != nil {
			return nil, err
		}
		mounts = append(mounts, m)
	}
	return mounts, nil
}

var errStatmount = &procfs.NotSupportedError{Feature: "statmount of another mount namespace's mounts with their source", Version: "6.15"}

// statMount reads mount id of namespace nsID with statmount into buf, which
// it grows as needed and returns.
func statMount(id, nsID uint64, buf []byte) (MountInfo, []byte, error) {
	req := mntIDReq{Size: uint32(unsafe.Sizeof(mntIDReq{})), MntID: id, MntNsID: nsID,
		Param: statmountWant | statmountSupportedMask}
	for {
		_, _, e := unix.Syscall6(unix.SYS_STATMOUNT, uintptr(unsafe.Pointer(&req)),
			uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0)
		if e == unix.EOVERFLOW && len(buf) < 1<<24 {
			buf = make([]byte, 2*len(buf))
			continue
		}
		if e != 0 {
			if e == unix.ENOSYS {
				statmountState.Store(2)
				return MountInfo{}, buf, errStatmount
			}
			return MountInfo{}, buf, os.NewSyscallError("statmount", e)
		}
		break
	}
	sm := (*statmount)(unsafe.Pointer(&buf[0]))
	if statmountState.Load() == 0 {
		if sm.Mask&statmountSupportedMask == 0 || sm.SupportedMask&statmountWant != statmountWant {
			statmountState.Store(2)
			return MountInfo{}, buf, errStatmount
		}
		statmountState.Store(1)
	}
	strs := buf[unsafe.Sizeof(statmount{}):min(len(buf), int(sm.Size))]
	str := func(bit uint64, off uint32) string {
		if sm.Mask&bit == 0 || int(off) >= len(strs) {
			return ""
		}
		s := strs[off:]
		if i := bytes.IndexByte(s, 0); i >= 0 {
			s = s[:i]
		}
		return string(s)
	}
	m := MountInfo{
		ID:       int(sm.MntIDOld),
		ParentID: int(sm.MntParentIDOld),
		Major:    sm.SbDevMajor, Minor: sm.SbDevMinor,
		Root:   str(statmountMntRoot, sm.MntRoot),
		Target: str(statmountMntPoint, sm.MntPoint),
		FSType: str(statmountFsType, sm.FsType),
		Source: str(statmountSbSource, sm.SbSource),
	}
	if sub := str(statmountFsSubtype, sm.FsSubtype); sub != "" {
		m.FSType += "." + sub
	}
	if m.Source == "" {
		m.Source = "none" // as mountinfo shows a mount without one
	}
	m.Options = mountOptions(sm.MntAttr)
	m.SuperOptions = superOptions(sm.SbFlags, str(statmountMntOpts, sm.MntOpts))
	if sm.MntPropagation&unix.MS_SHARED != 0 {
		m.Shared = int(sm.MntPeerGroup)
	}
	if sm.MntPropagation&unix.MS_SLAVE != 0 {
		m.Master = int(sm.MntMaster)
		if sm.PropagateFrom != 0 && sm.PropagateFrom != sm.MntMaster {
			m.PropagateFrom = int(sm.PropagateFrom)
		}
	}
	m.Unbindable = sm.MntPropagation&unix.MS_UNBINDABLE != 0
	m.Idmapped = sm.MntAttr&unix.MOUNT_ATTR_IDMAP != 0
	return m, buf, nil
}

// mountOptions spells MOUNT_ATTR_* flags as mountinfo's per-mount options.
func mountOptions(attr uint64) string {
	var b strings.Builder
	if attr&unix.MOUNT_ATTR_RDONLY != 0 {
		b.WriteString("ro")
	} else {
		b.WriteString("rw")
	}
	for _, o := range []struct {
		set  bool
		name string
	}{
		{attr&unix.MOUNT_ATTR_NOSUID != 0, ",nosuid"},
		{attr&unix.MOUNT_ATTR_NODEV != 0, ",nodev"},
		{attr&unix.MOUNT_ATTR_NOEXEC != 0, ",noexec"},
		{attr&unix.MOUNT_ATTR__ATIME == unix.MOUNT_ATTR_NOATIME, ",noatime"},
		{attr&unix.MOUNT_ATTR_NODIRATIME != 0, ",nodiratime"},
		{attr&unix.MOUNT_ATTR__ATIME == unix.MOUNT_ATTR_RELATIME, ",relatime"},
		{attr&unix.MOUNT_ATTR_NOSYMFOLLOW != 0, ",nosymfollow"},
		{attr&unix.MOUNT_ATTR_IDMAP != 0, ",idmapped"},
	} {
		if o.set {
			b.WriteString(o.name)
		}
	}
	return b.String()
}

// superOptions spells a super block's flags and its file system's options as
// mountinfo's super options.
func superOptions(flags uint32, fsOpts string) string {
	var b strings.Builder
	if flags&sbRDONLY != 0 {
		b.WriteString("ro")
	} else {
		b.WriteString("rw")
	}
	for _, o := range []struct {
		bit  uint32
		name string
	}{{sbSYNCHRONOUS, ",sync"}, {sbDIRSYNC, ",dirsync"}, {sbLAZYTIME, ",lazytime"}} {
		if flags&o.bit != 0 {
			b.WriteString(o.name)
		}
	}
	if fsOpts != "" {
		b.WriteString(",")
		b.WriteString(fsOpts)
	}
	return b.String()
}

// threadMountinfo reads mountinfo from a thread that entered the mount
// namespace of fd: its /proc directory is opened first, in the caller's
// namespace, and the file in it after setns, so that the kernel shows the
// namespace the thread is in then, from the root directory setns gave it.
// The thread is never given back.
func (h *Handle) threadMountinfo(fd int) ([]byte, error) {
	var text []byte
	var err error
	onOwnThread(func() (clean bool) {
		dir, e := unix.Open("/proc/thread-self", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if e != nil {
			err = &os.PathError{Op: "open", Path: "/proc/thread-self", Err: e}
			return true
		}
		defer unix.Close(dir)
		if e := unix.Unshare(unix.CLONE_FS); e != nil {
			err = os.NewSyscallError("unshare CLONE_FS", e)
			return false
		}
		if e := unix.Setns(fd, unix.CLONE_NEWNS); e != nil {
			err = h.joinError(Mount, os.NewSyscallError("setns", e))
			return false
		}
		f, e := unix.Openat(dir, "mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if e != nil {
			err = &os.PathError{Op: "open", Path: "/proc/thread-self/mountinfo", Err: e}
			return false
		}
		file := os.NewFile(uintptr(f), "/proc/thread-self/mountinfo")
		text, err = io.ReadAll(file)
		file.Close()
		return false
	})
	return text, err
}

// processMountinfo reads /proc/PID/mountinfo of the process the handle was
// joined from, checking that the process is still there and in the
// namespace of fd after the read.
func (h *Handle) processMountinfo(fd int) ([]byte, error) {
	if !h.havePidfd {
		return nil, fmt.Errorf("without CAP_SYS_ADMIN, reading another namespace's mounts needs statmount: %w (or a handle from Join, whose process's mountinfo serves)", errStatmount)
	}
	pid, err := pidfdPID(h.pidfd)
	if err != nil {
		return nil, err
	}
	dir := "/proc/" + strconv.Itoa(pid)
	same := func() error {
		ok, err := sameNamespace(fd, dir+"/ns/mnt")
		switch {
		case err == nil && !ok:
			return fmt.Errorf("process %d is in another mount namespace now: its mountinfo does not serve", pid)
		case exited(h.pidfd):
			return fmt.Errorf("process %d exited: its mountinfo does not serve: %w", pid, os.ErrProcessDone)
		}
		return err
	}
	if err := same(); err != nil {
		return nil, err
	}
	text, err := os.ReadFile(dir + "/mountinfo")
	if err != nil {
		return nil, err
	}
	if err := same(); err != nil {
		return nil, err
	}
	return text, nil
}

// pidfdPID returns the PID of the process of pidfd, in the caller's PID
// namespace, from /proc/self/fdinfo (Linux 5.3).
func pidfdPID(pidfd int) (int, error) {
	path := "/proc/self/fdinfo/" + strconv.Itoa(pidfd)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Pid:"); ok {
			pid, err := strconv.Atoi(strings.TrimSpace(v))
			switch {
			case err == nil && pid == -1:
				return 0, fmt.Errorf("the process exited: %w", os.ErrProcessDone)
			case err != nil || pid <= 0:
				return 0, fmt.Errorf("%s: the process is in no PID namespace of ours (Pid: %s): %w", path, strings.TrimSpace(v), unix.ESRCH)
			}
			return pid, nil
		}
	}
	return 0, fmt.Errorf("%s: no Pid line", path)
}

// sameNamespace reports whether the namespace file at path is the namespace
// of fd.
func sameNamespace(fd int, path string) (bool, error) {
	var a, b unix.Stat_t
	if err := unix.Fstat(fd, &a); err != nil {
		return false, os.NewSyscallError("fstat", err)
	}
	if err := unix.Stat(path, &b); err != nil {
		return false, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return a.Dev == b.Dev && a.Ino == b.Ino, nil
}

// parseMountinfo parses the text of a /proc/PID/mountinfo file.
func parseMountinfo(r io.Reader) ([]MountInfo, error) {
	var out []MountInfo
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		m, err := parseMountinfoLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("mountinfo line %d: %w", n, err)
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// parseMountinfoLine parses one line: ID, parent ID, major:minor, root,
// mount point, options, optional fields up to "-", type, source, super
// options.
func parseMountinfoLine(line string) (MountInfo, error) {
	var m MountInfo
	f := strings.Fields(line)
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if len(f) < 7 || sep < 0 || len(f) < sep+4 {
		return m, fmt.Errorf("%q: too few fields", line)
	}
	var err error
	if m.ID, err = strconv.Atoi(f[0]); err != nil {
		return m, fmt.Errorf("%q: mount ID: %w", line, err)
	}
	if m.ParentID, err = strconv.Atoi(f[1]); err != nil {
		return m, fmt.Errorf("%q: parent ID: %w", line, err)
	}
	major, minor, ok := strings.Cut(f[2], ":")
	maj, err1 := strconv.ParseUint(major, 10, 32)
	min, err2 := strconv.ParseUint(minor, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return m, fmt.Errorf("%q: device %q", line, f[2])
	}
	m.Major, m.Minor = uint32(maj), uint32(min)
	m.Root, m.Target, m.Options = unescapeOctal(f[3]), unescapeOctal(f[4]), f[5]
	for _, opt := range f[6:sep] {
		tag, val, _ := strings.Cut(opt, ":")
		var dst *int
		switch tag {
		case "shared":
			dst = &m.Shared
		case "master":
			dst = &m.Master
		case "propagate_from":
			dst = &m.PropagateFrom
		case "unbindable":
			m.Unbindable = true
			continue
		default:
			continue // a field of a later kernel
		}
		if *dst, err = strconv.Atoi(val); err != nil {
			return m, fmt.Errorf("%q: %s: %w", line, tag, err)
		}
	}
	m.FSType, m.Source = unescapeOctal(f[sep+1]), unescapeOctal(f[sep+2])
	m.SuperOptions = f[sep+3]
	m.Idmapped = strings.HasSuffix(m.Options, ",idmapped")
	return m, nil
}

// unescapeOctal undoes the kernel's escapes in mountinfo fields: space, tab,
// newline and backslash as \ooo.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return '0' <= c && c <= '7' }

// statmountSizes and statmountOffsets give the layout of the kernel's
// structures as this file defines them, which a test compares with the
// header's.
func statmountSizes() map[string]uintptr {
	return map[string]uintptr{"statmount": unsafe.Sizeof(statmount{}), "mnt_id_req": unsafe.Sizeof(mntIDReq{}),
		"mnt_ns_info": unsafe.Sizeof(mntNsInfo{}), "NS_MNT_GET_INFO": nsMntGetInfo}
}

func statmountOffsets() map[string]uintptr {
	var s statmount
	var r mntIDReq
	return map[string]uintptr{
		"size": unsafe.Offsetof(s.Size), "mnt_opts": unsafe.Offsetof(s.MntOpts), "mask": unsafe.Offsetof(s.Mask),
		"sb_dev_major": unsafe.Offsetof(s.SbDevMajor), "sb_dev_minor": unsafe.Offsetof(s.SbDevMinor),
		"sb_magic": unsafe.Offsetof(s.SbMagic), "sb_flags": unsafe.Offsetof(s.SbFlags), "fs_type": unsafe.Offsetof(s.FsType),
		"mnt_id": unsafe.Offsetof(s.MntID), "mnt_parent_id": unsafe.Offsetof(s.MntParentID),
		"mnt_id_old": unsafe.Offsetof(s.MntIDOld), "mnt_parent_id_old": unsafe.Offsetof(s.MntParentIDOld),
		"mnt_attr": unsafe.Offsetof(s.MntAttr), "mnt_propagation": unsafe.Offsetof(s.MntPropagation),
		"mnt_peer_group": unsafe.Offsetof(s.MntPeerGroup), "mnt_master": unsafe.Offsetof(s.MntMaster),
		"propagate_from": unsafe.Offsetof(s.PropagateFrom), "mnt_root": unsafe.Offsetof(s.MntRoot),
		"mnt_point": unsafe.Offsetof(s.MntPoint), "mnt_ns_id": unsafe.Offsetof(s.MntNsID),
		"fs_subtype": unsafe.Offsetof(s.FsSubtype), "sb_source": unsafe.Offsetof(s.SbSource),
		"opt_num": unsafe.Offsetof(s.OptNum), "opt_array": unsafe.Offsetof(s.OptArray),
		"opt_sec_num": unsafe.Offsetof(s.OptSecNum), "opt_sec_array": unsafe.Offsetof(s.OptSecArray),
		"supported_mask": unsafe.Offsetof(s.SupportedMask), "mnt_uidmap_num": unsafe.Offsetof(s.MntUIDMapNum),
		"mnt_uidmap": unsafe.Offsetof(s.MntUIDMap), "mnt_gidmap_num": unsafe.Offsetof(s.MntGIDMapNum),
		"mnt_gidmap": unsafe.Offsetof(s.MntGIDMap),
		"req.size":   unsafe.Offsetof(r.Size), "req.mnt_id": unsafe.Offsetof(r.MntID),
		"req.param": unsafe.Offsetof(r.Param), "req.mnt_ns_id": unsafe.Offsetof(r.MntNsID),
	}
}
