package procfs

import (
	"fmt"
	"iter"
	"strings"

	"golang.org/x/sys/unix"
)

// Kind is a set of namespace kinds. Its values are the kernel's CLONE_NEW*
// flags, so a Kind can be passed to clone(2), unshare(2) and setns(2) as it is,
// and one value can hold several kinds: UTS|PID.
type Kind uint64

// The namespace kinds. Each is the CLONE_NEW* flag of the kind.
const (
	Mount  Kind = unix.CLONE_NEWNS     // mount points; /proc file "mnt" (Linux 2.4.19)
	UTS    Kind = unix.CLONE_NEWUTS    // host name and NIS domain name (Linux 2.6.19)
	IPC    Kind = unix.CLONE_NEWIPC    // System V IPC and POSIX message queues (Linux 2.6.19)
	Net    Kind = unix.CLONE_NEWNET    // network devices, stacks, ports (Linux 2.6.29)
	PID    Kind = unix.CLONE_NEWPID    // process IDs (Linux 2.6.24)
	User   Kind = unix.CLONE_NEWUSER   // user and group IDs, capabilities (Linux 3.8)
	Cgroup Kind = unix.CLONE_NEWCGROUP // cgroup root directory (Linux 4.6)
	Time   Kind = unix.CLONE_NEWTIME   // boot-time and monotonic clocks (Linux 5.6)

	// All is every kind above.
	All = Mount | UTS | IPC | Net | PID | User | Cgroup | Time
)

// kinds lists the single kinds in the order that Each, String and the rest of
// nsgo use.
var kinds = [...]struct {
	kind Kind
	name string // the file name under /proc/PID/ns
}{
	{Mount, "mnt"},
	{UTS, "uts"},
	{IPC, "ipc"},
	{Net, "net"},
	{PID, "pid"},
	{User, "user"},
	{Cgroup, "cgroup"},
	{Time, "time"},
}

// String returns the /proc/PID/ns file name of a single kind ("mnt", "uts",
// "ipc", "net", "pid", "user", "cgroup", "time"), the names joined by "|" for
// several ("uts|pid"), "none" for the empty set, and bits that are no kind in
// hexadecimal.
func (k Kind) String() string {
	if k == 0 {
		return "none"
	}
	for _, e := range kinds {
		if k == e.kind {
			return e.name
		}
	}
	var b strings.Builder
	for _, e := range kinds {
		if k&e.kind == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString(e.name)
	}
	if rest := k &^ All; rest != 0 {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		fmt.Fprintf(&b, "%#x", uint64(rest))
	}
	return b.String()
}

// Has reports whether every kind in other is in k.
func (k Kind) Has(other Kind) bool { return k&other == other }

// Valid reports whether k is a non-empty set of known kinds.
func (k Kind) Valid() bool { return k != 0 && k&^All == 0 }

// Each returns the single kinds in k, in the order Mount, UTS, IPC, Net, PID,
// User, Cgroup, Time. Bits that are no kind are left out.
//
//	for kind := range (procfs.UTS | procfs.Net).Each() { ... }
func (k Kind) Each() iter.Seq[Kind] {
	return func(yield func(Kind) bool) {
		for _, e := range kinds {
			if k&e.kind != 0 && !yield(e.kind) {
				return
			}
		}
	}
}

// ParseKinds parses a list of kind names separated by commas or "|": the
// /proc file names ("mnt", "uts", "ipc", "net", "pid", "user", "cgroup",
// "time"), "mount" for "mnt", and "all". Names are case-sensitive and
// surrounding spaces are ignored. An empty list, an empty item or an unknown
// name is an error that quotes it. ParseKinds(k.String()) returns k for every
// set of known kinds.
func ParseKinds(s string) (Kind, error) {
	if strings.TrimSpace(s) == "" {
		return 0, fmt.Errorf("parse kinds %q: empty list", s)
	}
	var k Kind
	for item := range strings.SplitSeq(strings.ReplaceAll(s, "|", ","), ",") {
		name := strings.TrimSpace(item)
		one, ok := kindByName(name)
		switch {
		case ok:
			k |= one
		case name == "":
			return 0, fmt.Errorf("parse kinds %q: empty name", s)
		default:
			return 0, fmt.Errorf("parse kinds %q: unknown kind %q", s, name)
		}
	}
	return k, nil
}

func kindByName(name string) (Kind, bool) {
	switch name {
	case "mount":
		return Mount, true
	case "all":
		return All, true
	}
	for _, e := range kinds {
		if e.name == name {
			return e.kind, true
		}
	}
	return 0, false
}
