package idmap

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ReadUIDMap returns the user ID map of process pid's user namespace, from
// /proc/PID/uid_map. The initial namespace shows "0 0 4294967295"; a namespace
// whose map is not written yet shows an empty map.
func ReadUIDMap(pid int) (Map, error) { return readMap(pid, "uid_map") }

// ReadGIDMap returns the group ID map of process pid's user namespace, from
// /proc/PID/gid_map.
func ReadGIDMap(pid int) (Map, error) { return readMap(pid, "gid_map") }

func readMap(pid int, file string) (Map, error) {
	path := procPath(pid, file)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// SetGroups is what /proc/PID/setgroups says: whether processes in the user
// namespace may call setgroups(2).
type SetGroups int

const (
	// Auto, the zero value, picks Deny when the writer lacks CAP_SETGID and so
	// the kernel demands "deny" before gid_map, and Allow otherwise.
	Auto SetGroups = iota
	// Allow leaves setgroups(2) allowed: Write leaves the file as the kernel
	// made it ("allow", unless the parent namespace denies it).
	Allow
	// Deny writes "deny": no process in the namespace may call setgroups(2), so
	// none can drop a supplementary group that it was denied access through
	// (CVE-2014-8989). Needed by an unprivileged writer of gid_map.
	Deny
)

// String returns "auto", "allow" or "deny".
func (s SetGroups) String() string {
	switch s {
	case Auto:
		return "auto"
	case Allow:
		return "allow"
	case Deny:
		return "deny"
	}
	return "SetGroups(" + strconv.Itoa(int(s)) + ")"
}

// Resolve returns s, or for Auto what Write picks when the calling process
// writes gid: Deny when the caller lacks CAP_SETGID and gid maps only its own
// group, as the kernel then demands; Allow otherwise, when the writer is
// privileged: the caller, or newgidmap for ranges delegated in /etc/subgid.
func (s SetGroups) Resolve(gid Map) SetGroups {
	if s != Auto {
		return s
	}
	if hasCap(unix.CAP_SETGID) || needsHelper(gid, os.Getegid(), unix.CAP_SETGID) {
		return Allow
	}
	return Deny
}

// needsHelper reports whether writing m takes newuidmap or newgidmap: the
// caller lacks capability cap and m maps more than its own ID own.
func needsHelper(m Map, own int, cap int) bool {
	if m == nil || hasCap(cap) {
		return false
	}
	return len(m) != 1 || m[0].Count != 1 || int(m[0].Outside) != own
}

// hasCap reports whether the calling thread has capability c in its
// effective set.
func hasCap(c int) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[c/32].Effective&(1<<(c%32)) != 0
}

// Write writes the ID maps of process pid's user namespace: uid to
// /proc/PID/uid_map, sg to /proc/PID/setgroups and then gid to
// /proc/PID/gid_map. A nil map is not written, and setgroups only goes with a
// gid map. Both maps are validated before anything is written. Each file gets
// one write(2) at offset 0; the kernel accepts a map once per namespace.
//
// The writer must have CAP_SETUID (CAP_SETGID) over the parent user namespace
// of pid's namespace, or map only its own effective ID, with setgroups denied
// for a gid map. Otherwise, the way rootless containers do it, Write runs
// newuidmap (newgidmap) from the uidmap package, which maps the ranges that
// /etc/subuid (/etc/subgid) delegates to the caller; its absence, and ranges
// not delegated, are errors that say so. The error names the file or program
// and wraps the errno or exit status.
func Write(pid int, uid, gid Map, sg SetGroups) error {
	if sg < Auto || sg > Deny {
		return fmt.Errorf("idmap: write pid %d: invalid SetGroups value %d", pid, int(sg))
	}
	for _, m := range []struct {
		name string
		m    Map
	}{{"uid map", uid}, {"gid map", gid}} {
		if m.m == nil {
			continue
		}
		if err := m.m.Validate(); err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
	}
	if uid == nil && gid == nil {
		return nil
	}
	dir, err := openProcDir(pid)
	if err != nil {
		return err
	}
	defer unix.Close(dir)
	if uid != nil {
		if needsHelper(uid, os.Geteuid(), unix.CAP_SETUID) {
			err = runHelper(uidHelper, pid, uid)
		} else {
			err = writeAt(dir, pid, "uid_map", uid.String())
		}
		if err != nil {
			return err
		}
	}
	if gid != nil {
		if sg.Resolve(gid) == Deny {
			if err := writeAt(dir, pid, "setgroups", "deny"); err != nil {
				return err
			}
		}
		if needsHelper(gid, os.Getegid(), unix.CAP_SETGID) {
			return runHelper(gidHelper, pid, gid)
		}
		return writeAt(dir, pid, "gid_map", gid.String())
	}
	return nil
}

// helper describes newuidmap or newgidmap.
type helper struct {
	program string     // newuidmap
	file    string     // /etc/subuid
	ids     string     // "user IDs"
	own     func() int // the ID the caller may map alone
	// user is the caller's user, to whom both files delegate IDs
	// (subgid(5) too names users, as newgidmap(1) checks them).
	user func() int
	read func(string) ([]SubRange, error)
}

var (
	uidHelper = helper{"newuidmap", "/etc/subuid", "user IDs", os.Geteuid, os.Geteuid, ReadSubUIDs}
	gidHelper = helper{"newgidmap", "/etc/subgid", "group IDs", os.Getegid, os.Geteuid, ReadSubGIDs}
)

// runHelper writes m for process pid with the setuid helper h. When that
// cannot work, or fails, the error says why: without privilege the caller
// may map only its own ID, one to one; the rest must be delegated to it in
// /etc/subuid, and newuidmap must be there to write it.
func runHelper(h helper, pid int, m Map) error {
	own := h.own()
	capName, idName := "CAP_SETUID", "uid"
	if h.ids == gidHelper.ids {
		capName, idName = "CAP_SETGID", "gid"
	}
	intro := fmt.Sprintf("idmap: mapping %q: without %s, %s %d may map only its own ID, %d, to one ID inside; more takes %s delegated to it in %s, and %s to write them",
		strings.TrimSpace(m.String()), capName, idName, own, own, h.ids, h.file, h.program)
	// Which ranges /etc/subuid does not delegate, the usual cause.
	var delegation string
	var missing []string
	user := h.user()
	subs, err := h.read(strconv.Itoa(user))
	for _, r := range m {
		if r.Count == 1 && int(r.Outside) == own {
			continue
		}
		if !slices.ContainsFunc(subs, func(s SubRange) bool { return s.Contains(r.Outside, r.Count) }) {
			missing = append(missing, fmt.Sprintf("%d-%d", r.Outside, uint64(r.Outside)+uint64(r.Count)-1))
		}
	}
	switch {
	case err != nil:
		delegation = fmt.Sprintf("%s cannot be read (%v)", h.file, err)
	case len(missing) > 0 && len(subs) == 0:
		delegation = fmt.Sprintf("outside %s %s not delegated to user %d in %s, which has no range for it",
			h.ids, strings.Join(missing, ", "), user, h.file)
	case len(missing) > 0:
		delegation = fmt.Sprintf("outside %s %s not delegated to user %d in %s, which gives it %s",
			h.ids, strings.Join(missing, ", "), user, h.file, subRangesText(subs))
	}

	path, lookErr := exec.LookPath(h.program)
	if lookErr != nil {
		if delegation != "" {
			return fmt.Errorf("%s: %s; and %s, from the uidmap package, is missing: %w: %w", intro, delegation, h.program, lookErr, os.ErrPermission)
		}
		return fmt.Errorf("%s: %s, from the uidmap package, is missing: %w: %w", intro, h.program, lookErr, os.ErrPermission)
	}
	args := []string{strconv.Itoa(pid)}
	for _, r := range m {
		args = append(args, strconv.FormatUint(uint64(r.Inside), 10), strconv.FormatUint(uint64(r.Outside), 10), strconv.FormatUint(uint64(r.Count), 10))
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err == nil {
		return nil
	}
	msg := strings.TrimSpace(string(out))
	if delegation != "" {
		return fmt.Errorf("%s: %s; %s %s: %w: %s: %w",
			intro, delegation, h.program, strings.Join(args, " "), err, msg, os.ErrPermission)
	}
	return fmt.Errorf("idmap: %s %s: %w: %s", h.program, strings.Join(args, " "), err, msg)
}

// subRangesText lists ranges as "100000-165535, 200000-200009".
func subRangesText(subs []SubRange) string {
	var b strings.Builder
	for i, s := range subs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d-%d", s.Start, uint64(s.Start)+uint64(s.Count)-1)
	}
	return b.String()
}

func procPath(pid int, file string) string {
	return "/proc/" + strconv.Itoa(pid) + "/" + file
}

// openProcDir opens /proc/PID and checks that it is on procfs.
func openProcDir(pid int) (int, error) {
	path := "/proc/" + strconv.Itoa(pid)
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		unix.Close(fd)
		return -1, &os.PathError{Op: "statfs", Path: path, Err: err}
	}
	if fs.Type != unix.PROC_SUPER_MAGIC {
		unix.Close(fd)
		return -1, fmt.Errorf("idmap: %s is not on procfs (filesystem type %#x)", path, fs.Type)
	}
	return fd, nil
}

// writeAt writes text to file in the /proc/PID directory dir with one
// write(2).
func writeAt(dir, pid int, file, text string) error {
	path := procPath(pid, file)
	fd, err := unix.Openat(dir, file, unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	n, err := unix.Write(fd, []byte(text))
	if err != nil {
		return &os.PathError{Op: "write", Path: path, Err: err}
	}
	if n != len(text) {
		return &os.PathError{Op: "write", Path: path, Err: fmt.Errorf("short write: %d of %d bytes", n, len(text))}
	}
	return nil
}
