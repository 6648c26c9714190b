// Package idmap reads, checks and writes the user and group ID mappings of
// Linux user namespaces: the files /proc/PID/uid_map, /proc/PID/gid_map and
// /proc/PID/setgroups.
//
// A Map is a list of Ranges, each mapping Count consecutive IDs starting at
// Inside (in the namespace) to IDs starting at Outside (in the parent
// namespace). Map.String writes the kernel's text format and Parse reads it;
// Map.Validate applies the rules that the kernel applies when the map is
// written, so a bad map is refused with an error naming the range before any
// process is created.
//
// # Writing
//
// The kernel accepts one write per file, ever: Write makes one write(2) at
// offset 0 of each file, and a second Write to the same process fails with
// EPERM. It writes setgroups before gid_map. A writer without CAP_SETGID over
// the parent namespace may map only its own group ID, and only after
// setgroups is set to "deny"; the zero value of SetGroups (Auto) picks that
// for it.
//
// Every file is opened relative to the /proc/PID directory, after checking
// that this directory really is on procfs, so a recycled PID or a swapped
// symlink cannot redirect a write.
//
// # Errors
//
// Validation errors are *RangeError and name the range. Read and write errors
// are *os.PathError naming the /proc file and wrapping the errno, so
// errors.Is(err, os.ErrPermission) and errors.Is(err, os.ErrNotExist) work.
package idmap
