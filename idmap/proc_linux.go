package idmap

import (
	"fmt"
	"os"
	"strconv"

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

// Resolve returns s, or for Auto what it picks for the calling process: Deny
// unless the caller has CAP_SETGID in its effective capabilities.
func (s SetGroups) Resolve() SetGroups {
	if s != Auto {
		return s
	}
	if hasCapSetgid() {
		return Allow
	}
	return Deny
}

func hasCapSetgid() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[0].Effective&(1<<unix.CAP_SETGID) != 0
}

// Write writes the ID maps of process pid's user namespace: uid to
// /proc/PID/uid_map, sg to /proc/PID/setgroups and then gid to
// /proc/PID/gid_map. A nil map is not written, and setgroups only goes with a
// gid map. Both maps are validated before anything is written. Each file gets
// one write(2) at offset 0; the kernel accepts a map once per namespace.
//
// The writer must have CAP_SETUID (CAP_SETGID) over the parent user namespace
// of pid's namespace, or map only its own effective ID, with setgroups denied
// for a gid map. The error names the file and wraps the errno.
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
		if err := writeAt(dir, pid, "uid_map", uid.String()); err != nil {
			return err
		}
	}
	if gid != nil {
		if sg.Resolve() == Deny {
			if err := writeAt(dir, pid, "setgroups", "deny"); err != nil {
				return err
			}
		}
		if err := writeAt(dir, pid, "gid_map", gid.String()); err != nil {
			return err
		}
	}
	return nil
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
