// Package procfs reads what the Linux kernel shows about namespaces under
// /proc.
//
// The calls a user makes:
//
//   - Namespaces and Lookup say which namespaces a process is in, as IDs;
//     Stat gives the ID of a namespace file such as /run/netns/NAME. Two
//     processes share a namespace exactly when their IDs are equal.
//   - List returns every namespace on the host, like util-linux lsns;
//     OfKind and OfPID narrow it, as lsns -t and -p do, and WithHierarchy
//     adds each namespace's owner and parent from ioctl_ns(2). UserTree
//     arranges such a list as a tree of user namespaces and what each owns.
//   - Kind names the namespace kinds; ParseKinds reads "uts,pid".
//
// In five lines:
//
//	mine, err := procfs.Namespaces(os.Getpid())
//	theirs, err := procfs.Namespaces(pid)
//	same := mine[procfs.Net] == theirs[procfs.Net] // one network namespace?
//	all, err := procfs.List(procfs.WithHierarchy()) // every namespace, as lsns shows them
//	tree := procfs.UserTree(all)                    // user namespaces and what each owns
//
// It is the bottom layer of nsgo: it names the namespace kinds (Kind, whose
// values are the kernel's CLONE_NEW* flags), identifies a namespace the way the
// kernel does (ID: the device and inode of its nsfs file), and answers which
// namespaces a process or the calling thread is in.
//
// # Identity
//
// Two processes share a namespace exactly when the files /proc/PID/ns/KIND of
// both refer to the same nsfs inode on the same device. Inode numbers alone are
// not enough in principle, and the initial namespaces' numbers are not
// constants: never hard-code them, compare IDs.
//
// # Privileges
//
// Reading another process's namespace links needs the same rights as
// ptrace(PTRACE_MODE_READ) over it: an unprivileged caller sees its own
// processes, root sees all. A failure wraps the errno, so
// errors.Is(err, os.ErrPermission) and errors.Is(err, os.ErrNotExist) work.
// List skips the processes that the caller may not inspect, and those that
// exit during the scan.
//
// # Threads
//
// Namespaces belong to threads, not processes. Namespaces(pid) reads the
// thread group leader's links; ThreadNamespaces reads the calling thread's,
// which differ only while that thread was moved by setns(2) or unshare(2).
//
// # Kernel support
//
// A kind the running kernel lacks (cgroup before Linux 4.6, time before 5.6)
// gives an error that matches ErrNotSupported; Supported says which kinds
// exist.
//
// # Internals
//
// List reads /proc/PID/ns of every process, the nsfs entries of
// /proc/self/mountinfo (bind mounts) and /proc/PID/fd (open descriptors), on
// GOMAXPROCS goroutines, with one directory descriptor per process and
// readlink(2) for the links: every namespace file is on the kernel's one nsfs
// device (NsfsDevice), so the inode number in a link's text is a whole ID.
package procfs
