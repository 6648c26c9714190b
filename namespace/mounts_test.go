package namespace_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// mountScript makes a container's root: a tmpfs at $1 with the host's
// programs bound in, some mounts of its own, then pivot_root into it. It
// prints "ready" and sleeps.
const mountScript = `set -e
R=$1
mount -t tmpfs -o mode=0755 ctr "$R"
mkdir "$R/old" "$R/proc" "$R/data" "$R/ro" "$R/shared" "$R/slave" "$R/unb" "$R/sp ace"
for d in bin sbin lib lib64 usr etc; do
	if [ -L /$d ]; then ln -s "$(readlink /$d)" "$R/$d"
	elif [ -d /$d ]; then mkdir "$R/$d"; mount --rbind /$d "$R/$d"; fi
done
mount -t tmpfs -o size=1m,mode=0700 'data source' "$R/data"
mount -t tmpfs -o ro,nosuid,nodev,noexec,noatime rotmp "$R/ro"
mount -t tmpfs sh "$R/shared"
mount --make-shared "$R/shared"
mount --bind "$R/shared" "$R/slave"
mount --make-slave "$R/slave"
mount -t tmpfs ub "$R/unb"
mount --make-unbindable "$R/unb"
mount -t tmpfs -o nosymfollow,strictatime sp "$R/sp ace"
mount -t proc proc "$R/proc"
cd "$R"
if [ "$2" = chroot ]; then exec chroot . sh -c 'echo ready; exec sleep 1000'; fi
pivot_root . old
umount -l /old
rmdir /old
echo ready
exec sleep 1000
`

// mountContainer is a process in new mount and PID namespaces (and a user
// namespace with user set, as an unprivileged caller needs) with a root of
// its own, made by mountScript.
type mountContainer struct {
	p   *namespace.Process
	dir string // the host directory its root was made on
}

func startMountContainer(t testing.TB, user bool) *mountContainer {
	t.Helper()
	return startMountContainerRoot(t, user, "pivot_root")
}

// startMountContainerRoot is startMountContainer, whose root is made by
// pivot_root or by chroot.
func startMountContainerRoot(t testing.TB, user bool, how string) *mountContainer {
	t.Helper()
	dir := t.TempDir()
	opts := namespace.Options{
		Path: "/bin/sh", Args: []string{"sh", "-c", mountScript, "sh", dir, how},
		New: namespace.Mount | namespace.PID | namespace.UTS | namespace.IPC,
	}
	if user {
		opts.New |= namespace.User
		opts.UIDMap, opts.GIDMap = ownMaps()
	} else if !privileged {
		t.Skip("a container without a user namespace needs root")
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	opts.Stdout, opts.Stderr = pw, pw
	p, err := namespace.Spawn(opts)
	pw.Close()
	if err != nil {
		pr.Close()
		t.Fatal(err)
	}
	c := &mountContainer{p: p, dir: dir}
	t.Cleanup(func() {
		p.Kill()
		p.Wait()
		pr.Close()
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	if line != "ready\n" {
		rest, _ := io.ReadAll(pr)
		t.Fatalf("container: %q %v %s", line, err, rest)
	}
	// Tests write into the container's root through /proc/PID/root: make
	// sure that is the container's tmpfs, not the host's root.
	var root, host unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/%d/root", p.Pid), &root); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat("/", &host); err != nil || root.Dev == host.Dev {
		t.Fatalf("the container's root is the host's (%v)", err)
	}
	return c
}

// join pins the container's namespaces of kinds, until the test ends.
func (c *mountContainer) join(t testing.TB, kinds namespace.Kind) *namespace.Handle {
	t.Helper()
	h, err := namespace.Join(c.p.Pid, kinds)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// byTarget returns the mount at target, the last one if several, as the
// path resolves.
func byTarget(mounts []namespace.MountInfo, target string) (namespace.MountInfo, bool) {
	var m namespace.MountInfo
	found := false
	for _, x := range mounts {
		if x.Target == target {
			m, found = x, true
		}
	}
	return m, found
}

func sortedByID(mounts []namespace.MountInfo) []namespace.MountInfo {
	out := slices.Clone(mounts)
	slices.SortFunc(out, func(a, b namespace.MountInfo) int { return a.ID - b.ID })
	return out
}

// readMounts returns h.Mounts() through the given fallback ("" for
// statmount), restoring the default after.
func readMounts(t *testing.T, h *namespace.Handle, fallback string) []namespace.MountInfo {
	t.Helper()
	old := namespace.SetMountsFallback(fallback)
	defer namespace.SetMountsFallback(old)
	mounts, err := h.Mounts()
	if err != nil {
		t.Fatalf("Mounts (fallback %q): %v", fallback, err)
	}
	return mounts
}

// TestMounts lists a container's mounts from outside, by statmount and by
// both mountinfo fallbacks, and checks that the three agree with each other
// and with what the container made, and with the container process's own
// /proc/PID/mountinfo read by the test; as root without and with a user
// namespace, as uid 65534 with one.
func TestMounts(t *testing.T) {
	for _, user := range []bool{false, true} {
		t.Run(fmt.Sprintf("user=%v", user), func(t *testing.T) {
			c := startMountContainer(t, user)
			h := c.join(t, namespace.Mount|namespace.PID)
			hostBefore, _ := os.ReadFile("/proc/self/mountinfo")
			before := takeCounts(t)

			got := readMounts(t, h, "")
			if !namespace.StatmountSupported() {
				t.Log("statmount path not available on this kernel: the default is mountinfo")
			}
			process := readMounts(t, h, "process")
			if d := diffMounts(sortedByID(got), sortedByID(process)); d != "" {
				t.Errorf("statmount and the process's mountinfo differ:\n%s", d)
			}
			if privileged {
				thread := readMounts(t, h, "thread")
				if d := diffMounts(sortedByID(got), sortedByID(thread)); d != "" {
					t.Errorf("statmount and a joined thread's mountinfo differ:\n%s", d)
				}
			}
			checkNoLeak(t, before)
			if after, _ := os.ReadFile("/proc/self/mountinfo"); string(after) != string(hostBefore) {
				t.Errorf("the caller's mounts changed")
			}

			// What the container made, as it made it.
			want := map[string]func(m namespace.MountInfo) bool{
				"/": func(m namespace.MountInfo) bool {
					return m.FSType == "tmpfs" && m.Source == "ctr" && strings.Contains(m.SuperOptions, "mode=755")
				},
				"/data": func(m namespace.MountInfo) bool {
					return m.Source == "data source" && m.SuperOptions == "rw,size=1024k,mode=700"+uidGidOpts(user) && m.Shared == 0
				},
				"/ro": func(m namespace.MountInfo) bool {
					return m.Options == "ro,nosuid,nodev,noexec,noatime" && strings.HasPrefix(m.SuperOptions, "ro")
				},
				"/shared": func(m namespace.MountInfo) bool { return m.Shared != 0 && m.Master == 0 },
				"/slave": func(m namespace.MountInfo) bool {
					shared, _ := byTarget(got, "/shared")
					return m.Shared == 0 && m.Master == shared.Shared && m.Source == "sh"
				},
				"/unb":     func(m namespace.MountInfo) bool { return m.Unbindable && m.Shared == 0 && m.Master == 0 },
				"/sp ace":  func(m namespace.MountInfo) bool { return m.Options == "rw,nosymfollow" && m.Source == "sp" },
				"/proc":    func(m namespace.MountInfo) bool { return m.FSType == "proc" },
				"/usr":     func(m namespace.MountInfo) bool { return m.Root == "/usr" || m.Root == "/" },
				"/usr/bin": nil,
			}
			for target, ok := range want {
				m, found := byTarget(got, target)
				switch {
				case !found && ok != nil:
					t.Errorf("no mount at %s in %v", target, targets(got))
				case found && ok != nil && !ok(m):
					t.Errorf("mount at %s: %+v", target, m)
				}
			}
			// And what the kernel shows the container itself, read here.
			own, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", c.p.Pid))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(own)), "\n")
			if len(lines) != len(got) {
				t.Errorf("%d mounts, the container's mountinfo has %d lines", len(got), len(lines))
			}
			for i, line := range lines {
				f := strings.Fields(line)
				if i < len(got) && (fmt.Sprint(got[i].ID) != f[0] || strings.ReplaceAll(got[i].Target, " ", `\040`) != f[4]) {
					t.Errorf("row %d: %d %q, the container's line %q", i, got[i].ID, got[i].Target, line)
				}
			}
			// Nothing of it on the host.
			for _, m := range got {
				if m.Source == "data source" && strings.Contains(string(hostBefore), "data\\040source") {
					t.Errorf("the container's mount is on the host")
				}
			}
		})
	}
}

// uidGidOpts is what tmpfs shows of its owner: nothing for root, the IDs
// for the root of a user namespace that maps another ID.
func uidGidOpts(user bool) string {
	if !user || os.Getuid() == 0 {
		return ""
	}
	return fmt.Sprintf(",uid=%d,gid=%d", os.Getuid(), os.Getgid())
}

func targets(mounts []namespace.MountInfo) []string {
	var out []string
	for _, m := range mounts {
		out = append(out, m.Target)
	}
	return out
}

func diffMounts(a, b []namespace.MountInfo) string {
	var d strings.Builder
	for i := range max(len(a), len(b)) {
		switch {
		case i >= len(a):
			fmt.Fprintf(&d, "+ %+v\n", b[i])
		case i >= len(b):
			fmt.Fprintf(&d, "- %+v\n", a[i])
		case a[i] != b[i]:
			fmt.Fprintf(&d, "- %+v\n+ %+v\n", a[i], b[i])
		}
	}
	return d.String()
}

// idmapInside makes, inside container c, an idmapped bind mount of /data at
// /idm, mapped through the user namespace of process usernsOf, from a thread
// of the test that enters the container's mount namespace and is discarded.
// The kernel idmaps only mounts of file systems that the initial user
// namespace owns: c has no user namespace of its own.
func idmapInside(t *testing.T, c *mountContainer, usernsOf int) {
	t.Helper()
	userns, err := unix.Open(fmt.Sprintf("/proc/%d/ns/user", usernsOf), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(userns)
	mntns, err := unix.Open(fmt.Sprintf("/proc/%d/ns/mnt", c.p.Pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(mntns)
	namespace.OnOwnThread(func() bool {
		err = func() error {
			if err := unix.Unshare(unix.CLONE_FS); err != nil {
				return err
			}
			if err := unix.Setns(mntns, unix.CLONE_NEWNS); err != nil {
				return err
			}
			tree, err := unix.OpenTree(unix.AT_FDCWD, "/data", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
			if err != nil {
				return err
			}
			defer unix.Close(tree)
			attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns)}
			if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &attr); err != nil {
				return fmt.Errorf("mount_setattr MOUNT_ATTR_IDMAP: %w", err)
			}
			if err := unix.Mkdir("/idm", 0o755); err != nil {
				return err
			}
			return unix.MoveMount(tree, "", unix.AT_FDCWD, "/idm", unix.MOVE_MOUNT_F_EMPTY_PATH)
		}()
		return false
	})
	if err != nil {
		t.Fatalf("an idmapped mount in the container: %v", err)
	}
}

// TestMountsIdmapped lists an idmapped mount of a container, by statmount
// and by mountinfo: Idmapped, and "idmapped" among its options, each way.
func TestMountsIdmapped(t *testing.T) {
	if !privileged {
		t.Skip("the test makes the idmapped mount from a thread that enters the container: needs CAP_SYS_ADMIN")
	}
	c := startMountContainer(t, false)
	idmapInside(t, c, startMountContainer(t, true).p.Pid)
	h := c.join(t, namespace.Mount)
	for _, way := range []string{"", "thread", "process"} {
		m, ok := byTarget(readMounts(t, h, way), "/idm")
		if !ok || !m.Idmapped || m.Options != "rw,relatime,idmapped" || m.Source != "data source" {
			t.Errorf("Mounts (fallback %q) at /idm: %+v %v; want an idmapped mount of /data", way, m, ok)
		}
		if d, _ := byTarget(readMounts(t, h, way), "/data"); d.Idmapped {
			t.Errorf("Mounts (fallback %q): /data is idmapped: %+v", way, d)
		}
	}
}

// TestMountsErrors: a handle without a mount namespace, a closed one, a nil
// one; each gives its error and leaves nothing behind.
func TestMountsErrors(t *testing.T) {
	c := startMountContainer(t, !privileged)
	before := takeCounts(t)
	h := c.join(t, namespace.UTS)
	if _, err := h.Mounts(); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("Mounts of a handle without Mount = %v, want os.ErrInvalid", err)
	}
	h2, err := namespace.Join(c.p.Pid, namespace.Mount)
	if err != nil {
		t.Fatal(err)
	}
	h2.Close()
	if _, err := h2.Mounts(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Mounts of a closed handle = %v, want os.ErrClosed", err)
	}
	var nilh *namespace.Handle
	if _, err := nilh.Mounts(); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("Mounts of a nil handle = %v, want os.ErrInvalid", err)
	}
	h.Close()
	checkNoLeak(t, before)
}

// TestMountsOfExitedProcess: the process fallback refuses a process that is
// gone (its mountinfo would be empty or another's), while statmount still
// lists the namespace that the handle pins.
func TestMountsOfExitedProcess(t *testing.T) {
	c := startMountContainer(t, !privileged)
	h := c.join(t, namespace.Mount)
	c.p.Kill()
	c.p.Wait()
	old := namespace.SetMountsFallback("process")
	_, err := h.Mounts()
	namespace.SetMountsFallback(old)
	if !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("the process fallback after the process exited: %v, want os.ErrProcessDone", err)
	}
	if !namespace.StatmountSupported() {
		return
	}
	mounts, err := h.Mounts()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := byTarget(mounts, "/data"); !ok {
		t.Errorf("statmount of the pinned namespace: %v", targets(mounts))
	}
}

// TestStatmountLayout compares nsgo's struct statmount, mnt_id_req and
// mnt_ns_info with the kernel's, as include/uapi/linux/mount.h and nsfs.h
// (Linux 6.18) declare them: __u32 and __u64 fields in that order, each at
// its natural alignment, and struct statmount padded by __spare2 to 512
// bytes.
func TestStatmountLayout(t *testing.T) {
	sizes, offsets := namespace.StatmountLayout()
	for name, want := range map[string]uintptr{"statmount": 512, "mnt_id_req": unix.MNT_ID_REQ_SIZE_VER1, "mnt_ns_info": unix.MNT_NS_INFO_SIZE_VER0} {
		if sizes[name] != want {
			t.Errorf("sizeof(struct %s) = %d, the kernel's is %d", name, sizes[name], want)
		}
	}
	// _IOR(NSIO, 10, struct mnt_ns_info): read, the size, NSIO 0xb7, 10.
	if want := uintptr(2<<30 | unix.MNT_NS_INFO_SIZE_VER0<<16 | 0xb7<<8 | 10); sizes["NS_MNT_GET_INFO"] != want {
		t.Errorf("NS_MNT_GET_INFO = %#x, the kernel's is %#x", sizes["NS_MNT_GET_INFO"], want)
	}
	// The header's fields, in order, with their sizes.
	fields := []struct {
		name string
		size uintptr
	}{
		{"size", 4}, {"mnt_opts", 4}, {"mask", 8}, {"sb_dev_major", 4}, {"sb_dev_minor", 4},
		{"sb_magic", 8}, {"sb_flags", 4}, {"fs_type", 4}, {"mnt_id", 8}, {"mnt_parent_id", 8},
		{"mnt_id_old", 4}, {"mnt_parent_id_old", 4}, {"mnt_attr", 8}, {"mnt_propagation", 8},
		{"mnt_peer_group", 8}, {"mnt_master", 8}, {"propagate_from", 8}, {"mnt_root", 4},
		{"mnt_point", 4}, {"mnt_ns_id", 8}, {"fs_subtype", 4}, {"sb_source", 4}, {"opt_num", 4},
		{"opt_array", 4}, {"opt_sec_num", 4}, {"opt_sec_array", 4}, {"supported_mask", 8},
		{"mnt_uidmap_num", 4}, {"mnt_uidmap", 4}, {"mnt_gidmap_num", 4}, {"mnt_gidmap", 4},
	}
	var off uintptr
	for _, f := range fields {
		off = (off + f.size - 1) &^ (f.size - 1)
		if offsets[f.name] != off {
			t.Errorf("statmount.%s at %d, the kernel's at %d", f.name, offsets[f.name], off)
		}
		off += f.size
	}
	if off+43*8 != 512 {
		t.Errorf("fixed fields end at %d, then __spare2[43]: %d, not 512", off, off+43*8)
	}
	for name, want := range map[string]uintptr{"req.size": 0, "req.mnt_id": 8, "req.param": 16, "req.mnt_ns_id": 24} {
		if offsets[name] != want {
			t.Errorf("mnt_id_req.%s at %d, the kernel's at %d", strings.TrimPrefix(name, "req."), offsets[name], want)
		}
	}
}

// TestParseMountinfo parses lines with every optional field and escapes.
func TestParseMountinfo(t *testing.T) {
	text := `36 35 98:0 /mnt1 /mnt\0402 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
37 36 0:44 / /a rw,nosuid shared:5 master:2 propagate_from:3 unbindable - fuse.sshfs a\134b rw,user_id=0
38 36 0:45 / /b ro,idmapped foo:9 - tmpfs none ro
`
	got, err := namespace.ParseMountinfo(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []namespace.MountInfo{
		{ID: 36, ParentID: 35, Major: 98, Minor: 0, Root: "/mnt1", Target: "/mnt 2", Options: "rw,noatime", Master: 1,
			FSType: "ext3", Source: "/dev/root", SuperOptions: "rw,errors=continue"},
		{ID: 37, ParentID: 36, Major: 0, Minor: 44, Root: "/", Target: "/a", Options: "rw,nosuid", Shared: 5, Master: 2,
			PropagateFrom: 3, Unbindable: true, FSType: "fuse.sshfs", Source: `a\b`, SuperOptions: "rw,user_id=0"},
		{ID: 38, ParentID: 36, Major: 0, Minor: 45, Root: "/", Target: "/b", Options: "ro,idmapped", Idmapped: true,
			FSType: "tmpfs", Source: "none", SuperOptions: "ro"},
	}
	if d := diffMounts(got, want); d != "" {
		t.Errorf("parsed:\n%s", d)
	}
	for _, bad := range []string{"1 2 0:1 / /", "x 2 0:1 / / rw - t s o", "1 2 01 / / rw - t s o", "1 2 0:1 / / rw shared:x - t s o"} {
		if _, err := namespace.ParseMountinfo(strings.NewReader(bad + "\n")); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// BenchmarkMounts lists a container's mounts (15 of them) by each way.
func BenchmarkMounts(b *testing.B) {
	c := startMountContainer(b, !privileged)
	h := c.join(b, namespace.Mount)
	for _, way := range []string{"statmount", "thread", "process"} {
		b.Run(way, func(b *testing.B) {
			if way == "thread" && !privileged {
				b.Skip("needs CAP_SYS_ADMIN")
			}
			old := namespace.SetMountsFallback(strings.TrimPrefix(way, "statmount"))
			defer namespace.SetMountsFallback(old)
			for b.Loop() {
				if _, err := h.Mounts(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestMountsOfCaller lists the caller's own mount namespace, the host's
// mounts in all their variety, and compares every way with
// /proc/self/mountinfo as the test reads it.
func TestMountsOfCaller(t *testing.T) {
	h, err := namespace.Current(namespace.Mount)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	text, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	want, err := namespace.ParseMountinfo(strings.NewReader(string(text)))
	if err != nil {
		t.Fatal(err)
	}
	ways := []string{""}
	if privileged {
		ways = append(ways, "thread")
	}
	for _, way := range ways {
		got := readMounts(t, h, way)
		if d := diffMounts(sortedByID(got), sortedByID(want)); d != "" {
			t.Errorf("Mounts (fallback %q) and /proc/self/mountinfo differ:\n%s", way, d)
		}
	}
}

// syscallRule answers system call nr (and, if req is set, only ioctl request
// req) with errno.
type syscallRule struct {
	nr, req uint32
	errno   unix.Errno
}

// filterOnThisThread installs a seccomp filter on the calling thread alone
// (no TSYNC) that answers as rule says, as a kernel without the call does;
// the thread must be discarded afterwards.
func filterOnThisThread(rule syscallRule) error {
	const (
		ldW  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret  = unix.BPF_RET | unix.BPF_K
		arch = 4  // offsetof(struct seccomp_data, arch)
		arg1 = 24 // offsetof(struct seccomp_data, args[1]), its low half on amd64
	)
	refuse := unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(rule.errno)}
	allow := unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW}
	filter := []unix.SockFilter{
		{Code: ldW, K: arch},
		{Code: jeq, Jt: 0, Jf: 5, K: unix.AUDIT_ARCH_X86_64},
		{Code: ldW, K: 0}, // nr
		{Code: jeq, Jt: 0, Jf: 3, K: rule.nr},
		{Code: ldW, K: arg1},
		{Code: jeq, Jt: 0, Jf: 1, K: rule.req},
		refuse,
		allow,
	}
	if rule.req == 0 {
		filter = []unix.SockFilter{
			{Code: ldW, K: arch},
			{Code: jeq, Jt: 0, Jf: 3, K: unix.AUDIT_ARCH_X86_64},
			{Code: ldW, K: 0},
			{Code: jeq, Jt: 0, Jf: 1, K: rule.nr},
			refuse,
			allow,
		}
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	return unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0)
}

// onFilteredThread runs fn on a thread of its own where rule holds, with
// the probes of Mounts and the PID calls forgotten before and after, and
// discards the thread.
func onFilteredThread(t *testing.T, rule syscallRule, fn func()) {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skip("the filter is written for amd64")
	}
	namespace.OnOwnThread(func() bool {
		if err := filterOnThisThread(rule); err != nil {
			t.Error(err)
			return false
		}
		namespace.ResetProbes()
		defer namespace.ResetProbes()
		fn()
		return false
	})
}

// TestMountsWithoutStatmount runs Mounts on a thread where listmount, or
// ioctl NS_MNT_GET_INFO, is refused as on a kernel before Linux 6.8 or 6.12:
// it gives the same rows from mountinfo; and, for a caller without
// CAP_SYS_ADMIN whose handle has no process to read, an error matching
// ErrNotSupported that names Linux 6.15.
func TestMountsWithoutStatmount(t *testing.T) {
	c := startMountContainer(t, !privileged)
	h := c.join(t, namespace.Mount)
	want := sortedByID(readMounts(t, h, ""))
	if !namespace.StatmountSupported() && kernelAtLeast(t, 6, 15) {
		t.Fatal("Linux 6.15 or later, and Mounts found no statmount")
	}
	byPath, err := namespace.FromPath(fmt.Sprintf("/proc/%d/ns/mnt", c.p.Pid))
	if err != nil {
		t.Fatal(err)
	}
	defer byPath.Close()
	before := takeCounts(t)
	for _, rule := range []syscallRule{
		{nr: unix.SYS_LISTMOUNT, errno: unix.ENOSYS},
		{nr: unix.SYS_IOCTL, req: 0x8010b70a, errno: unix.ENOTTY}, // NS_MNT_GET_INFO
	} {
		onFilteredThread(t, rule, func() {
			got, err := h.Mounts()
			if err != nil {
				t.Errorf("%+v: %v", rule, err)
			} else if d := diffMounts(sortedByID(got), want); d != "" {
				t.Errorf("%+v: mountinfo and statmount differ:\n%s", rule, d)
			}
			if namespace.StatmountSupported() {
				t.Errorf("%+v: Mounts found statmount", rule)
			}
			got, err = byPath.Mounts()
			switch {
			case privileged && err != nil:
				t.Errorf("%+v: Mounts of a handle from FromPath: %v", rule, err)
			case !privileged && (!errors.Is(err, namespace.ErrNotSupported) || !strings.Contains(err.Error(), "Linux 6.15")):
				t.Errorf("%+v: Mounts of a handle from FromPath, unprivileged: %v, want ErrNotSupported naming Linux 6.15", rule, err)
			case privileged:
				if d := diffMounts(sortedByID(got), want); d != "" {
					t.Errorf("%+v: Mounts of a handle from FromPath differ:\n%s", rule, d)
				}
			}
		})
	}
	checkNoLeak(t, before)
}

// kernelAtLeast reports whether the running kernel is Linux major.minor or
// later.
func kernelAtLeast(t *testing.T, major, minor int) bool {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var ma, mi int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &ma, &mi); err != nil {
		t.Fatal(err)
	}
	return ma > major || ma == major && mi >= minor
}

// ExampleHandle_Mounts lists a running container's mounts from outside, as
// findmnt -N would.
func ExampleHandle_Mounts() {
	h, err := namespace.Join(4242, namespace.Mount) // the container's PID on the host
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()
	mounts, err := h.Mounts()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range mounts {
		fmt.Println(m.Target, m.FSType, m.Source, m.Options)
	}
}
