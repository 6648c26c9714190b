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
// kernel does (ID: the device and inode of its nsfs file, and its namespace ID
// on Linux 6.18), and answers which namespaces a process or the calling
// thread is in.
//
// # Identity
//
// Two processes share a namespace exactly when the files /proc/PID/ns/KIND of
// both refer to the same namespace. An ID holds what identifies it: the
// device and inode number of its nsfs file, and on Linux 6.18 and later the
// namespace's 64-bit ID (NSID, the value of ioctl NS_GET_ID), which the
// kernel never gives to another namespace while it runs. Compare whole IDs;
// the initial namespaces' inode numbers are not constants: never hard-code
// them.
//
// What == on IDs promises depends on the kernel:
//
//   - Linux 6.18 and later (HaveNSID): every ID from this package and from
//     package namespace carries NSID, read from the namespace file's nsfs
//     file handle (name_to_handle_at(2), one system call, as the stat(2) it
//     replaces). Two IDs are equal exactly when they name one namespace,
//     however far apart they were read and whichever call gave each.
//   - Before 6.18: NSID is 0 and an ID is {device, inode}. The kernel gives
//     the inode number of an ended namespace to a new one (of 3,000 network
//     namespaces made and ended one at a time, hundreds got an earlier one's
//     number), so an ID kept after its namespace ended may equal a later
//     namespace's. IDs of namespaces alive at the same time, or of a
//     namespace something holds open (a namespace.Handle), are exact.
//
// An ID made by hand from a link's text (ParseLink gives only the inode
// number) lacks NSID and equals none of this package's IDs on 6.18.
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
// exist (from /proc/self/ns, or where /proc is not mounted from a pidfd of
// the process, Linux 6.11). HaveNSID says whether IDs carry namespace IDs
// (Linux 6.18).
//
// # Internals
//
// List reads /proc/PID/ns of every process, the nsfs entries of
// /proc/self/mountinfo (bind mounts) and /proc/PID/fd (open descriptors), on
// GOMAXPROCS goroutines, with one directory descriptor per process and
// readlink(2) for the links: every namespace file is on the kernel's one nsfs
// device (NsfsDevice), so the inode number in a link's text names a
// namespace among those alive. The first time the scan meets a namespace it
// reads the link's file handle too, for the NSID (Linux 6.18); a process
// found to have moved between the two reads is counted where the handle
// says it is. Within one scan, a namespace that ended and a new one that took
// its inode number before a later process in it was read are counted as one.
package procfs
