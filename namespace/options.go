package namespace

import (
	"io"
	"os"
	"syscall"
	"time"

	"github.com/nsgo/nsgo/idmap"
	"golang.org/x/sys/unix"
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

	// DirFallbacks are working directories to try, in order, when the
	// child cannot enter Dir: the program starts in the first that
	// chdir(2) accepts, and Spawn fails, with Dir's error, only if none
	// does. An Env entry "PWD=" + Dir then names the directory entered
	// instead (bwrap tries the caller's directory, then $HOME, then /, and
	// sets PWD so). They need Dir.
	DirFallbacks []string

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

	// MountProc mounts a new proc file system on /proc (nosuid, nodev,
	// noexec), so that /proc shows the new PID namespace. It requires Mount
	// and PID in New. With a new root (Root, or a Mounts entry on /) it is
	// the new root's /proc, created if missing, mounted after Mounts and
	// before pivot_root: in a user namespace the kernel allows a new proc
	// only where one is visible already, as the old root's is until then.
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
	// go.uber.org/goleak: IgnoreAnyFunction on that name). With Init, the
	// init gets SIGKILL instead, whatever the signal, as bwrap's
	// --die-with-parent does: a PID namespace's init ignores any other
	// signal that it has no handler for, and its end kills every process
	// of its namespace, the program's too.
	ParentDeathSignal syscall.Signal

	// Sandbox options: the child sets each up with raw system calls between
	// clone and execve, in the order that the package documentation gives.

	// Root, if not empty, is the program's new root directory, an existing
	// directory of the caller's (a relative path is taken from the caller's
	// working directory). The child binds it onto itself, recursively, so
	// that it is a mount point of the new namespace's own, applies Mounts
	// under it, pivot_root(2)s into it, detaches the old root and changes
	// to / (Dir, if set, is then a path in the new root). It requires Mount
	// in New. A first Mounts entry on / is mounted on Root instead, and is
	// the new root; with Root empty, such an entry makes a new root without
	// any directory of the caller's (bwrap's model: see MountSpec and
	// ExampleSpawn_sandbox).
	Root string

	// Mounts are made in order, each Target inside the new root (or in the
	// current root when there is none), after every bind source is opened
	// and every file system created; see MountSpec. They require Mount in
	// New. Targets that the child creates stay, in Root or in the current
	// root, whether or not the spawn succeeds.
	Mounts []MountSpec

	// Propagation is how mounts propagate between the new mount namespace
	// and the caller's, set on every mount first of all, as unshare(1)'s
	// --propagation does: private (the zero value) cuts every tie; slave
	// lets the caller's later mounts reach the program, not back; shared
	// makes them go both ways, so that the program's mounts (and those of
	// Mounts) appear in the caller's namespace where its mounts are shared;
	// unchanged leaves the copy of the caller's mounts as it is. A new user
	// namespace turns the caller's shared mounts into slaves whatever this
	// says (mount_namespaces(7)). Shared cannot go with a new root, which
	// pivot_root(2) refuses to make of a shared mount. It requires Mount in
	// New.
	Propagation Propagation

	// Setsid makes the program the leader of a new session (setsid(2)), and
	// of a process group of its own, as syscall.SysProcAttr.Setsid does:
	// the session has no controlling terminal unless Setctty gives it one.
	// It excludes Setpgid and Pgid: the leader of a session may not leave
	// its group. With a PID namespace, the child sets it in the program's
	// process, after the fork into the namespace.
	Setsid bool

	// Setpgid puts the program in process group Pgid, or in a new group of
	// its own when Pgid is 0 (setpgid(2)), as syscall.SysProcAttr.Setpgid
	// does. Pgid is a group of the caller's session, numbered as the
	// program's PID namespace numbers it: a joined one's numbers with
	// Handle.Spawn; with a new PID namespace, where the program is PID 1
	// and leads group 1, only 0 is valid. A negative Pgid, or one without
	// Setpgid or Foreground, is an error.
	Setpgid bool
	Pgid    int

	// Setctty makes the terminal on the program's descriptor Ctty its
	// controlling terminal (ioctl TIOCSCTTY), as
	// syscall.SysProcAttr.Setctty does; the program's process group is then
	// the terminal's foreground group. It requires Setsid, and that
	// descriptor to be a terminal, which Spawn checks before any clone. As
	// with os/exec, a caller with CAP_SYS_ADMIN in the initial user
	// namespace takes a terminal that is another session's controlling
	// terminal away from that session; without it, that is EPERM.
	Setctty bool

	// Foreground puts the program's process group in the foreground of the
	// terminal on the program's descriptor Ctty (ioctl TIOCSPGRP), as
	// syscall.SysProcAttr.Foreground does, and as a shell does for a job.
	// Without Setsid the program stays in the caller's session, so that
	// terminal must be the caller's controlling terminal (Spawn checks it),
	// and Foreground implies Setpgid: a new group of the program's, or Pgid.
	// With Setsid it requires Setctty, after which the program's group is
	// in the foreground already; os/exec refuses that combination. The child
	// blocks SIGTTOU around the ioctl, which the kernel sends to a
	// background group that does it, and restores its mask right after.
	Foreground bool

	// Ctty is the program's descriptor number of the terminal for Setctty
	// and Foreground: 0 (standard input), 1, 2, or 3 and up for ExtraFiles.
	// Unlike syscall.SysProcAttr.Ctty, it is the program's number for
	// Foreground too, never the caller's. Set without Setctty or
	// Foreground, it is an error.
	Ctty int

	// NoNewPrivs sets the no_new_privs bit (prctl PR_SET_NO_NEW_PRIVS): the
	// program and its children cannot gain privileges through execve of a
	// set-user-ID file or file capabilities. The child sets it after the
	// capabilities, right before it installs Seccomp; the bit is never
	// cleared, so /proc/PID/status of the program shows NoNewPrivs: 1.
	NoNewPrivs bool

	// Capabilities, if not nil, are the capability sets that the program
	// has once it runs (see Capabilities for what each set means and which
	// combinations the kernel allows): KeepCaps(set) keeps exactly set,
	// as root or as the user of Credential; DropCaps(c...) all but c.
	// Nil keeps what the kernel gives, as before: all of them to root (the
	// root of a new user namespace holds them inside it), none to another
	// user.
	Capabilities *Capabilities

	// Seccomp, if not empty, is a classic BPF program that the child
	// installs as a seccomp filter (seccomp(2) SECCOMP_SET_MODE_FILTER)
	// as its last step before execve, after the credentials,
	// capabilities, descriptors and terminal: the filter sees execve
	// itself and everything the program does. The kernel takes it from a
	// task with no_new_privs (NoNewPrivs, or the caller's own) or with
	// CAP_SYS_ADMIN in its user namespace at that step; without either
	// Spawn fails before any clone, with an error that says so. The
	// program is checked before the clone as the kernel will check it
	// (jumps, the last instruction a return, loads within struct
	// seccomp_data, at most 4096 instructions), an error naming the
	// instruction. A filter that refuses write(2) or exit_group(2) to the
	// child hides the failure of a refused execve: the program then
	// exits 127 without a report.
	Seccomp []unix.SockFilter

	// Rlimits are resource limits (setrlimit(2)) set in the child, in
	// order, before the credentials change. Each is checked before the
	// clone: a known resource, Soft no more than Hard, RLIMIT_NOFILE
	// within fs.nr_open, and a hard limit raised above the caller's only
	// with CAP_SYS_RESOURCE, which the root of a new user namespace lacks.
	// With DisableUserNamespaces, RLIMIT_NOFILE is set after the child's
	// second user namespace is made, whose /proc files it opens.
	Rlimits []Rlimit

	// Cgroup, if set, is the cgroup v2 directory the program is born in:
	// clone3 with CLONE_INTO_CGROUP (Linux 5.7) makes the child there, on
	// every child path, so nothing of it runs in the caller's cgroup; a
	// child that forks the program into a PID namespace (Handle.Spawn)
	// passes the cgroup on. Spawn checks the directory before any clone
	// (one of Path and File, a directory, on cgroup2); where clone3 cannot
	// do it (an older kernel, or a seccomp profile that refuses clone3) the
	// error matches ErrNotSupported, and the program is not started
	// elsewhere. A new cgroup namespace (Cgroup in New) is rooted at this
	// cgroup: the program sees it as "/". The permissions are those of
	// writing a PID to cgroup.procs (see CgroupDir).
	Cgroup CgroupDir

	// Loopback brings up the loopback device "lo" of the new network
	// namespace (SIOCSIFFLAGS with IFF_UP), as bwrap's --unshare-net does,
	// so that 127.0.0.1 and ::1 work inside: the kernel gives lo both
	// addresses when it comes up. The child does it after the mounts,
	// while it holds CAP_NET_ADMIN over the namespace. It requires Net in
	// New.
	Loopback bool

	// Init keeps the child as PID 1 of the new PID namespace, a reaper, as
	// bwrap does without --as-pid-1: it forks the program after the
	// mounts, host names and time namespace, and the program runs the
	// steps from there on (see the package documentation),
	// then reaps every process of the namespace that ends, and exits once
	// the program exits, with the program's exit status, or 128 plus the
	// signal that killed it (bwrap's status); the kernel then kills what is
	// left in the namespace. Process.Pid is then the init's PID, as
	// bwrap's "child-pid" is its PID 1's, and Process.Wait its status. The
	// init holds no descriptor of the caller's, ignores every signal that
	// the kernel lets reach a PID namespace's init without a handler (all
	// but SIGKILL and SIGSTOP from outside), and forwards none, as bwrap's
	// does. Setsid and Setpgid apply to the init, whose session and group
	// the program is in (bwrap's --new-session); Setctty and Foreground,
	// which need the program to lead its session, cannot go with Init. It
	// requires PID in New.
	//
	// The init is a copy of the caller's process, its memory as it was at
	// the spawn, never the caller's memory itself (the program could write
	// that through /proc/1/mem). Where the caller has CAP_SYS_PTRACE (root),
	// the init makes itself not dumpable, so that the program cannot read
	// it either. Without that capability it stays dumpable, so that the
	// caller can still open its /proc/PID (the sandbox's namespaces, Join):
	// then a program that runs as the caller's host user can read the
	// init's copy of the caller's memory, as it could any process of that
	// user that it can see. bwrap's PID 1 is bwrap itself, with nothing of
	// its caller's.
	Init bool

	// SeccompFilters are more seccomp programs, installed in order after
	// Seccomp, each as Seccomp is and with the same checks (bwrap's
	// --add-seccomp-fd, repeatable). The kernel runs every filter on each
	// system call and takes the most restrictive answer.
	SeccompFilters [][]unix.SockFilter

	// BlockFD, if set, makes the child wait before the program runs, in
	// the program's process, after the mounts, host names and Init's fork
	// and before the limits, credentials and descriptors, until the file
	// has data to read or is at end-of-file (one read(2) of one byte, as
	// bwrap's --block-fd does, which consumes that byte; bwrap reads it
	// later, after its credentials change, which no program can tell).
	// The program does not get the descriptor unless it is in ExtraFiles
	// too. Spawn returns only once
	// the program runs, so whatever writes to it must not wait for Spawn
	// (OnClone tells the PID early). Such a child is never a vfork child,
	// which would hold the calling thread, its P and syscall.ForkLock
	// while it waits.
	BlockFD *os.File

	// OnClone, if set, is called in the caller's goroutine right after the
	// clone, with the child's PID, while the child waits before any step:
	// before Spawn writes UIDMap and GIDMap (another process may write the
	// maps meanwhile, as bwrap's --userns-block-fd lets one), so a child
	// that would not wait otherwise is made to. The PID is the program's, or
	// the init's with Init. With Handle.Spawn, which writes no maps, the
	// hook waits until that process is in its namespaces, joined and new
	// (after the forks into a PID namespace), so that it sees them under
	// /proc/PID/ns, as bwrap's --info-fd reports them; before the mounts
	// and every later step, among them the new time namespace, which the
	// program enters after the mounts and host names. If OnClone panics,
	// the child is killed and reaped first. An error from OnClone stops the spawn: the
	// child is killed and reaped, and Spawn returns the error.
	OnClone func(pid int) error

	// DisableUserNamespaces makes the program unable to create user
	// namespaces, as bwrap's --disable-userns does: the child sets
	// user.max_user_namespaces to 1 in the new user namespace, then, after
	// the credentials change, creates a second user namespace inside it,
	// which uses that one, and maps the program's own user and group IDs
	// in it, so that the program cannot raise the limit again. The child
	// checks that unshare(CLONE_NEWUSER) then fails. It requires User in
	// New, with UIDMap and GIDMap.
	DisableUserNamespaces bool

	// RequireUserNamespacesDisabled makes the spawn fail unless the
	// program will be unable to create a user namespace, as bwrap's
	// --assert-userns-disabled does: the child tries unshare(CLONE_NEWUSER)
	// once its credentials are the program's, and Spawn returns an error
	// if that works. It is for a program that enters a user namespace
	// whose creator disabled them (Handle.Spawn into the user namespace of
	// a program started with DisableUserNamespaces, say); with
	// DisableUserNamespaces the child checks this anyway.
	RequireUserNamespacesDisabled bool
}

// Credential is the user ID, group ID and supplementary groups a process runs
// as.
type Credential struct {
	UID    uint32
	GID    uint32
	Groups []uint32 // supplementary groups; empty drops them all

	// NoSetGroups leaves the supplementary groups as they are, as
	// syscall.Credential.NoSetGroups does, so that a caller without
	// CAP_SETGID (where setgroups(2) fails with EPERM) can pass a
	// Credential: its own IDs, say. Groups must then be empty.
	NoSetGroups bool
}
