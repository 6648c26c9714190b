package procfs

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ID identifies one namespace: the device and inode number of its file on the
// kernel's nsfs. Two namespace files name the same namespace exactly when both
// fields are equal, so compare whole IDs, never inode numbers alone.
type ID struct {
	Dev uint64 // st_dev of the nsfs file
	Ino uint64 // st_ino of the nsfs file; what `ls -l /proc/PID/ns` and lsns show
}

// String returns the inode number followed by the device, as in
// "4026531840 (dev 0:4)".
func (id ID) String() string {
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
