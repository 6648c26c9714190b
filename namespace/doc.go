// Package namespace starts processes in new Linux namespaces, and runs Go
// code and programs in existing ones, from pure Go.
//
// The calls a user makes:
//
//   - Spawn starts a program in new namespaces; Options reads like exec.Cmd,
//     plus the namespaces and what to set up in them. Process.Wait releases it.
//   - Join pins the namespaces of a running process in a Handle; Current,
//     FromPath, FromPaths and Unshare make Handles too. Handle.Close
//     releases one.
//   - Handle.Do runs Go code inside the handle's namespaces, on a thread of
//     its own; Handle.Spawn starts a program inside them, as nsenter(1) does.
//   - Handle.Bind names a namespace in the file system, as ip netns add does,
//     and Unbind removes the name; Handle.Ref gives a reference that can be
//     stored and reopened with OpenRef while the namespace lives.
//   - Handle.Mounts lists the mounts of a mount namespace from outside, and
//     Handle.Attach binds a host file or directory into it; Handle.PIDInside
//     and PIDOutside translate process IDs across PID namespaces.
//   - NewUserNamespace makes a user namespace with maps, for idmapped mounts
//     (MountSpec) or setns(2).
//
// In five lines:
//
//	p, err := namespace.Spawn(namespace.Options{Path: "/bin/sh", New: namespace.User | namespace.UTS, ...})
//	state, err := p.Wait()
//	h, err := namespace.Join(pid, namespace.Net|namespace.UTS)
//	err = h.Do(func() error { ... })                          // Go code in pid's namespaces
//	p, err = h.Spawn(namespace.Options{Path: "/bin/hostname"}) // a program there
//
// Spawn starts a program the way exec.Cmd does, with arguments, environment,
// working directory and standard files, and creates the namespaces in
// Options.New for it, setting them up before the program runs: ID maps for a
// new user namespace, host and domain names for a new UTS namespace, a fresh
// /proc for new mount and PID namespaces, clock offsets for a new time
// namespace, and the credentials the program runs as (from ExampleSpawn):
//
//	p, err := namespace.Spawn(namespace.Options{
//		Path:      "/bin/sh",
//		Args:      []string{"sh", "-c", "hostname; echo $$; id -u"},
//		New:       namespace.User | namespace.UTS | namespace.PID | namespace.Mount,
//		UIDMap:    idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}},
//		GIDMap:    idmap.Map{{Inside: 0, Outside: uint32(os.Getgid()), Count: 1}},
//		Hostname:  "container",
//		MountProc: true,
//		Stdout:    os.Stdout,
//	})
//	if err != nil { ... }
//	state, err := p.Wait() // prints container, 1, 0
//
// Join, Current, FromPath and FromPaths return a Handle that pins existing
// namespaces by descriptor; Unshare makes new ones without a process. A Handle runs Go
// code inside its namespaces (Do), starts programs inside them (Spawn), and
// names them in the file system (Bind), as ip netns does (from ExampleJoin):
//
//	h, err := namespace.Join(pid, namespace.Net|namespace.UTS)
//	if err != nil { ... }
//	defer h.Close()
//	err = h.Do(func() error {
//		// This goroutine's thread is in pid's network and UTS namespaces.
//		ifaces, err := net.Interfaces() // the target's network devices
//		...
//	})
//	p, err := h.Spawn(namespace.Options{Path: "/bin/hostname", Stdout: os.Stdout})
//
// # Do and threads
//
// Namespaces belong to OS threads, and a Go program always runs several, so
// the calling process is never moved. Handle.Do moves only a thread of its
// own, locked to its goroutine and never the main thread, into the kinds a
// thread can enter (UTS, IPC, Net, Cgroup, and Mount after it gives up
// sharing file system state with the others), and PID for the children it
// starts. User and time namespaces are Handle.Spawn's: see "How the child
// works". Goroutines started inside Do run on other threads, outside the
// namespaces, and a Do called inside another Do's fn starts from the
// process's namespaces, not from the outer Do's (ExampleHandle_Do_nested).
//
// Afterwards the thread returns to the scheduler only if every
// /proc/thread-self/ns link that a thread can change shows it in the
// process's own namespaces, those of /proc/self/ns (its user, time and pid
// links cannot change in a Go process); otherwise, and always after Mount,
// the goroutine ends locked and the runtime ends the thread with it. That
// holds even for a thread that other code moved and gave back before Do ran
// on it.
//
// # Privileges
//
// Entering a namespace needs CAP_SYS_ADMIN over its owner and in the
// caller's own user namespace: an unprivileged caller enters the namespaces
// of its own containers only through Handle.Spawn, which enters the user
// namespace first.
//
// Root may create every kind and write any valid maps. An unprivileged caller
// must create a user namespace together with the others (New includes User)
// and may map only its own user and group ID; its gid map needs setgroups
// denied, which the zero value of Options.SetGroups does. Creating other
// kinds without a user namespace fails with EPERM.
//
// # Errors
//
// Every error from Spawn starts with "spawn PATH:" and says what failed. An
// invalid option is reported before any clone. A failure in the child is a
// *ChildError naming the step ("child execve: no such file or directory"),
// returned after the child was reaped. Errors wrap the errno, so errors.Is
// works with os.ErrNotExist, os.ErrPermission, or a syscall.Errno, and a kind
// or feature the kernel lacks matches ErrNotSupported.
//
// # How the child works
//
// The kernel refuses some changes to a multithreaded process: entering or
// creating a user namespace (EINVAL), entering a time namespace (EUSERS),
// entering a mount namespace without first leaving the file system state the
// threads share. PID and time namespaces apply only to the children a thread
// creates. So Spawn and Handle.Spawn clone a child, which is
// single-threaded, and the child does all of it between clone(2) and
// execve(2): entering a user namespace first when that is what grants the
// rights for the rest, forking once more when the program must be inside a
// PID namespace.
//
// On amd64 the child of Spawn shares the parent's memory (CLONE_VM) and
// copies no page table: on the parent thread's stack while that thread sleeps
// until the execve, as os/exec does, when it waits for nothing from its
// parent; on a small stack of its own while the parent writes its ID maps,
// when it waits for them. Both are made by clone3 with CLONE_CLEAR_SIGHAND,
// which resets their signal handlers, and restore the signal mask by a raw
// system call, where os/exec's child calls the runtime's fork hook, one
// system call per signal. The child on its own stack runs while the parent
// goes on, so it uses nothing of the runtime, not even that hook, which
// assumes a suspended parent (before Linux 5.5 it resets its handlers itself;
// the child on the parent's stack calls the hook then). A child that enters a
// time namespace, and any child on other architectures, is a copy of the Go
// process in which only one thread exists. Either way it runs no Go code that
// could allocate, lock, grow its stack or call into the race detector: only
// raw system calls in functions marked go:nosplit, reading a plan the parent
// prepared before the clone. This is how os/exec starts programs too, and it
// is why Spawn needs no cgo, no re-execution of the caller's binary and no
// init hook: it works with CGO_ENABLED=0 and under -race. In a race build
// no child runs on its own stack: with coverage as well (go test -race
// -cover), the compiler instruments the child's functions whatever their
// pragmas, with counters that call the race runtime, which needs a
// goroutine. A child whose maps map only the caller's own IDs then writes
// them itself, from inside, and is a vfork child; other maps make a copy.
//
// # Sandboxes
//
// The same child builds an isolated environment in one call, as bwrap(1)
// does, without cgo, a re-exec or a helper binary: a new root (Options.Root,
// or a tmpfs that Options.Mounts fills, see MountSpec, DevMounts and
// ExampleSpawn_sandbox), a session and controlling terminal (Setsid,
// Setctty, Foreground), capabilities, no_new_privs, a seccomp filter and
// resource limits (Capabilities, KeepCaps, DropCaps, NoNewPrivs, Seccomp,
// Rlimits), a cgroup to be born in (Cgroup), and a pidfd (Process.PidFD).
// SpawnContext kills the program when a context is done. Every option is
// checked before any clone, and a failing step is a *ChildError that names
// it ("child mount 3 (tmpfs on /tmp): ...").
//
// # Order of the child's steps
//
// childMain lists them in this order, one function each; the sandbox's
// families are in files of their own (mount_linux.go, terminal_linux.go,
// privileges_linux.go, cgroup_linux.go).
//
//  1. clone3(2) (or clone(2)) with the CLONE_NEW* flags of Options.New (all
//     but Time). With Options.Cgroup the child is made by clone3 with
//     CLONE_INTO_CGROUP on every path, the copy too, so that nothing of it
//     or of the program runs in the caller's cgroup, and there is no
//     fallback to clone(2): a kernel without it (Linux 5.7) is
//     ErrNotSupported, found before any clone. Where clone3 makes the
//     program's own process it returns its pidfd (CLONE_PIDFD); otherwise
//     the parent opens one with pidfd_open(2) while the program is its
//     unreaped child. (runc writes the PID to cgroup.procs after the
//     clone, where the child briefly runs in the caller's cgroup; bwrap
//     has no cgroup option.)
//  2. With a new user namespace and maps: wait until the parent has written
//     setgroups, gid_map and uid_map, which grant the child its privileges
//     inside. Until then it runs nothing that needs them.
//  3. With Handle.Spawn, whose clone(2) creates nothing: enter the handle's
//     namespaces, through the joined process's pidfd in one setns(2) and
//     checked against the pinned ones, or else kind by kind as nsenter(1)
//     does (see Handle.Spawn); unshare(2) the kinds of Options.New but Time;
//     and for a PID namespace, joined or new, fork once more (CLONE_PARENT,
//     so that the program is still the caller's child, and
//     CLONE_PARENT_SETTID, so that the kernel stores its PID where the
//     parent reads it), so that the program is inside it. For a new PID
//     namespace inside a joined one, that process unshares it and forks
//     again, as bwrap does for --pidns with --unshare-pid: the kernel makes
//     a PID namespace only inside its creator's own; the parent translates
//     the second PID out of the joined namespace. Every later step is the
//     program's own process's.
//  4. Session: setsid(2) for Setsid, setpgid(0, Pgid) for Setpgid (and for
//     Foreground without Setsid). Before the mounts, as in os/exec and
//     bwrap's --new-session.
//  5. With DisableUserNamespaces: write 1 to user.max_user_namespaces of
//     the new user namespace, through the caller's /proc, opened then and
//     kept for step 15, while the child holds CAP_SYS_RESOURCE there.
//     (bwrap writes it after its mounts, through a /proc it opened first.)
//  6. Mounts, with a new mount namespace: set the propagation of every mount
//     (MS_REC|MS_PRIVATE by default, as unshare(1) does; MS_SLAVE, MS_SHARED
//     or nothing with Options.Propagation). With Root or Mounts, open every
//     source before anything is mounted, in the caller's view: each bind's
//     tree cloned (open_tree(2) with OPEN_TREE_CLONE) with its flags set
//     (mount_setattr(2)), each file system created (fsopen, fsconfig,
//     fsmount); idmapped binds were opened by the parent before the clone.
//     Attach the new root (Root bound onto itself, or the first entry, on
//     "/", mounted on Root or on top of /), then make each entry in order:
//     its Target resolved inside the new root (openat2(2) with
//     RESOLVE_IN_ROOT), missing components created by name, the mount
//     attached (move_mount(2)) or the directory or link made. With
//     MountProc, mount a new proc on the new root's /proc, before the
//     pivot: in a user namespace the kernel allows a new proc only where one
//     is visible already. Then pivot_root(".", "."), detach the old root
//     and change to /. Unlike bwrap, which builds the root in a tmpfs on
//     its /tmp, reads sources through /oldroot and pivots twice, the child
//     opens the sources as detached mounts and pivots once, and needs no
//     directory of its own. Without a new root, MountProc mounts a new proc
//     on /proc after the Mounts.
//     Entries that mount nothing are made in their turn: a "dir" or a
//     "file" (its Contents written; the umask is cleared around the
//     creation of a file, and of directories with Mode or ParentMode, as
//     bwrap clears it for its setup), a
//     "chmod" (fchmodat2 on the target resolved in the root) or a
//     "remount" (mount_setattr adding MOUNT_ATTR_RDONLY, not recursive)
//     of what the entries before made. A bind of Contents is a file on a
//     tmpfs of its own, made with the sources, attached as a bind is and
//     unlinked then (bwrap makes it in its setup tmpfs).
//  7. With Loopback: bring up lo (SIOCSIFFLAGS with IFF_UP; the kernel
//     adds 127.0.0.1 and ::1). bwrap does it before its mounts, by
//     rtnetlink; the order is not visible.
//  8. Set the host and domain names.
//  9. With a new time namespace: unshare(CLONE_NEWTIME), write the clock
//     offsets, and enter it with setns(2), which a single-threaded process
//     may do. (clone3 with CLONE_NEWTIME would freeze the offsets at zero.)
//  10. With Init: fork the program's process. The init itself is always
//     a copy of the caller, never the caller's memory (the program could
//     write that through /proc/1/mem), and not dumpable where the caller
//     has CAP_SYS_PTRACE. On amd64 (outside race builds, and without
//     DisableUserNamespaces) the program's process shares the init's
//     memory and the init sleeps until it has exec'd (CLONE_VM|CLONE_VFORK),
//     then goes on on a stack of its own: no second copy of the page
//     tables. Elsewhere it is a copy. The child stays as PID 1, drops its
//     capabilities and every descriptor and reaps until the program
//     exits, then exits with its status. Every later step is the
//     program's own, so that the init holds none of the program's
//     limits, credentials or filters; bwrap forks its PID 1's child
//     after all of its setup, right before the exec, and its PID 1
//     installs the seccomp filters too. The init itself is never a
//     vfork child of the caller's: it would hold the caller's thread for
//     the sandbox's life.
//  11. With BlockFD: read one byte from it, blocking until it has data or
//     is at end-of-file (bwrap reads it later, after its credentials
//     change; nothing the program sees differs).
//  12. Resource limits (prlimit64), in order: before the credentials change,
//     as runc does, since raising a hard limit needs CAP_SYS_RESOURCE,
//     which setresuid or capset may take away. (bwrap 0.8 sets none.)
//     With DisableUserNamespaces, RLIMIT_NOFILE waits for step 15, which
//     opens files.
//  13. Drop from the bounding set what Capabilities.Bounding leaves out
//     (PR_CAPBSET_DROP needs CAP_SETPCAP, which a user other than root loses
//     at setresuid), and set PR_SET_KEEPCAPS when a user other than root is
//     to keep capabilities.
//  14. Change credentials: groups (unless Credential.NoSetGroups), gid, uid.
//     After the mounts, as unshare(1) does, so that they run with the
//     namespace root's full capabilities; bwrap changes to the sandbox user
//     right after the maps and mounts as that user.
//  15. With DisableUserNamespaces: unshare(CLONE_NEWUSER), which the
//     limit of 1 allows once, set dumpable back, deny setgroups and map
//     the program's own user and group ID to themselves in it (as its
//     creator may, from inside), drop again from the bounding set what
//     step 13 dropped (a new user namespace gives the full set back), and
//     check that unshare(CLONE_NEWUSER) now fails. After the credentials,
//     where bwrap does it before its change to the sandbox user, so that
//     the IDs mapped are the program's; then RLIMIT_NOFILE. With
//     RequireUserNamespacesDisabled alone, only that check.
//  16. Capabilities: permitted, effective and inheritable in one capset(2),
//     then the ambient set. (bwrap raises ambient capabilities just before
//     its seccomp step.)
//  17. Set the parent-death signal, which the credentials change clears;
//     change directory (a path in the new root; else the first of
//     DirFallbacks that chdir(2) accepts, with the environment whose PWD
//     names it); arrange the file descriptors (the program's moved off
//     the target numbers first, with F_DUPFD_CLOEXEC, then each onto its
//     target; runs of absent targets closed with one close_range(2)).
//  18. Terminal, once the program's descriptors are in place: TIOCSCTTY on
//     descriptor Ctty for Setctty, then TIOCSPGRP for Foreground, with
//     SIGTTOU blocked for that ioctl only.
//  19. Last before execve: no_new_privs (only when asked: bwrap sets it
//     always, and first, since it may run set-user-ID) and the seccomp
//     filter, then SeccompFilters in order, so that the filters see only
//     execve and the program.
//  20. execve(2).
package namespace
