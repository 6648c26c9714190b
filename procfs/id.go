package procfs

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ID identifies one namespace: the device and inode number of its file on the
// kernel's nsfs, and on Linux 6.18 and later the namespace's 64-bit ID.
//
// Compare whole IDs with ==, never inode numbers alone. Where the kernel has
// namespace IDs (HaveNSID), every ID that nsgo returns, from whichever call,
// carries NSID, which the kernel never gives to another namespace while it
// runs: two IDs are equal exactly when they name the same namespace, even
// when one was read long after the other namespace was gone. Before Linux
// 6.18 NSID is 0 and an ID is its device and inode number, which the kernel
// gives to a new namespace once the old one is gone: two IDs read at the same
// time, or while something holds the namespace (a Handle), are equal exactly
// when they name the same namespace; an ID kept after its namespace ended
// may equal a later namespace's.
//
// An ID made by hand from a link's text (ParseLink) has no NSID and so
// equals none of nsgo's on 6.18; compare its inode number instead, and only
// with a namespace that is alive.
type ID struct {
	Dev  uint64 // st_dev of the nsfs file
	Ino  uint64 // st_ino of the nsfs file; what `ls -l /proc/PID/ns` and lsns show
	NSID uint64 // the namespace ID (ioctl NS_GET_ID, Linux 6.18); 0 before
}

// String returns the inode number followed by the device, as in
// "4026531840 (dev 0:4)", and the NSID when there is one:
// "4026532179 (dev 0:4, id 4105)".
func (id ID) String() string {
	if id.NSID != 0 {
		return fmt.Sprintf("%d (dev %d:%d, id %d)", id.Ino, unix.Major(id.Dev), unix.Minor(id.Dev), id.NSID)
	}
	return fmt.Sprintf("%d (dev %d:%d)", id.Ino, unix.Major(id.Dev), unix.Minor(id.Dev))
}

// ParseLink parses the target of a namespace link as readlink(2) returns it for
// /proc/PID/ns/KIND or for a /proc/PID/fd entry open on a namespace:
// "net:[4026531840]". It returns the kind and the inode number; the link text
// holds no device.
func ParseLink(s string) (Kind, uint64, error) {
	name, rest, ok := strings.Cut(s, ":")
	if !ok || len(rest) < 3 || rest[0] != '[' || rest[len(rest)-1] != ']' {
		return 0, 0, fmt.Errorf("parse namespace link %q: want KIND:[INODE]", s)
	}
	k, ok := kindByName(name)
	if !ok || k == All || name == "mount" {
		return 0, 0, fmt.Errorf("parse namespace link %q: unknown kind %q", s, name)
	}
	digits := rest[1 : len(rest)-1]
	if digits[0] == '+' || digits[0] == '-' {
		return 0, 0, fmt.Errorf("parse namespace link %q: bad inode %q", s, digits)
	}
	ino, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("parse namespace link %q: bad inode %q", s, digits)
	}
	return k, ino, nil
}
