package namespace

import (
	"io"
	"os"
	"syscall"
	"time"

	"github.com/nsgo/nsgo/idmap"
)

// Options describes a process for Spawn to start: the program, its
// arguments, environment and files, as in exec.Cmd, and the namespaces to
// create for it and how to set them up before the program runs.
//
// The zero value of every field is valid and means "as the caller's process"
// or "nothing", as each field says.
type Options struct {
	// Path is the program to run. If it contains no slash it is looked up in
	// the caller's PATH, as exec.Command does; otherwise it is used as it is,
	// relative to Dir when relative, and resolved inside the child's new
	// mount namespace, if any. Required.
	Path string

	// Args holds the command line, including the program name as Args[0]. If
	// empty, the program gets Path alone.
	Args []string

	// Env is the environment of the program. If nil, it gets the caller's
	// environment; a non-nil empty slice gives it none. Of entries with the
	// same key, the last one wins, as in exec.Cmd.
	Env []string

	// Dir is the working directory of the program, entered after the new
	// namespaces are set up and the credentials changed. If empty, it is the
	// caller's working directory.
	Dir string

	// Stdin is the program's standard input. If nil, it reads from
	// os.DevNull. An *os.File is passed to the program as it is; any other
	// reader is copied into a pipe by a goroutine, which Wait waits for.
	Stdin io.Reader

	// Stdout and Stderr are the program's standard output and error. If nil,
	// output goes to os.DevNull. An *os.File is passed to the program as it
	// is; any other writer is fed from a pipe by a goroutine, which Wait waits
	// for. If both are the same writer, one pipe serves both, so at most one
	// goroutine writes to it at a time.
	Stdout io.Writer
	Stderr io.Writer

	// ExtraFiles are open files for the program to inherit as file
	// descriptors 3, 4, and so on; a nil entry leaves that descriptor closed.
	// No other descriptor of the caller reaches the program.
	ExtraFiles []*os.File

	// New is the set of namespaces to create for the program. Zero creates
	// none: the program shares every namespace with the caller.
	New Kind

	// UIDMap and GIDMap are written to the new user namespace's uid_map and
	// gid_map while the child waits, before it runs anything that needs the
	// privileges that the maps grant. They require User in New. A nil map is
	// not written; the child then has no user (or group) ID in the namespace
	// and shows as the overflow ID, 65534, as a bare clone(2) would.
	UIDMap idmap.Map
	GIDMap idmap.Map

	// SetGroups says whether processes in the new user namespace may call
	// setgroups(2). The zero value denies it exactly when the caller lacks
	// CAP_SETGID, which the kernel then demands; see idmap.SetGroups.
	SetGroups idmap.SetGroups

	// Credential is the user, group and supplementary groups that the program
	// runs as, set after the namespaces are set up. With a new user namespace
	// its IDs are the namespace's own and must be mapped.
	//
	// If nil and a new user namespace is created with maps, the program runs
	// as uid 0 and gid 0 of the namespace when the maps map them, else as the
	// IDs the caller's own map to, with no supplementary groups where
	// setgroups is allowed; that is never host root unless the maps map 0 to
	// 0. A map that maps neither 0 nor the caller's ID is an error that asks
	// for a Credential. Without a new user namespace, nil keeps the caller's
	// credentials.
	Credential *Credential

	// Hostname and Domainname, if not empty, are set in the new UTS namespace.
	// They require UTS in New and are at most 64 bytes.
	Hostname   string
	Domainname string

	// MountProc mounts a new proc file system on /proc, so that /proc shows
	// the new PID namespace. It requires Mount and PID in New.
	MountProc bool

	// MonotonicOffset and BoottimeOffset shift CLOCK_MONOTONIC and
	// CLOCK_BOOTTIME in the new time namespace; they are written to its
	// timens_offsets before the program enters it. They require Time in New.
	MonotonicOffset time.Duration
	BoottimeOffset  time.Duration

	// ParentDeathSignal, if not zero, is sent to the program when the
	// process that spawned it exits (prctl PR_SET_PDEATHSIG), however it
	// exits. The kernel sends it when the thread that cloned the program
	// exits, so such programs are cloned from one thread that nsgo keeps for
	// the life of the process, whatever becomes of the caller's goroutine
	// and thread: spawns that set it are made one at a time, on that
	// thread. Its goroutine, namespace.serveSpawnThread, starts with the
	// first such spawn and lives as long as the process (for
	// go.uber.org/goleak: IgnoreAnyFunction on that name).
	ParentDeathSignal syscall.Signal
}

// Credential is the user ID, group ID and supplementary groups a process runs
// as.
type Credential struct {
	UID    uint32
	GID    uint32
	Groups []uint32 // supplementary groups; empty drops them all
}
