package namespace

import "github.com/nsgo/nsgo/procfs"

// Kind is a set of namespace kinds, whose values are the kernel's CLONE_NEW*
// flags. It is procfs.Kind, re-exported so that callers of this package need
// not import procfs.
type Kind = procfs.Kind

// The namespace kinds, as in package procfs.
const (
	Mount  = procfs.Mount  // mount points ("mnt")
	UTS    = procfs.UTS    // host name and NIS domain name
	IPC    = procfs.IPC    // System V IPC and POSIX message queues
	Net    = procfs.Net    // network devices, stacks and ports
	PID    = procfs.PID    // process IDs
	User   = procfs.User   // user and group IDs and capabilities
	Cgroup = procfs.Cgroup // cgroup root directory
	Time   = procfs.Time   // boot-time and monotonic clocks
	All    = procfs.All    // every kind above
)

// ID identifies one namespace; it is procfs.ID.
type ID = procfs.ID

// ErrNotSupported is matched by every error that says the running kernel lacks
// a namespace kind or another feature. It is procfs.ErrNotSupported.
var ErrNotSupported = procfs.ErrNotSupported

// ParseKinds parses kind names separated by commas or "|", such as
// "uts,pid" or "net|mnt"; see procfs.ParseKinds.
func ParseKinds(s string) (Kind, error) { return procfs.ParseKinds(s) }
