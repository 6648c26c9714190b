// Package procfs reads what the Linux kernel shows about namespaces under
// /proc.
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
package procfs
