// Package idmap reads, checks and writes the user and group ID mappings of
// Linux user namespaces: the files /proc/PID/uid_map, /proc/PID/gid_map and
// /proc/PID/setgroups.
//
// The calls a user makes:
//
//   - Map and Range hold a mapping; Validate checks it with the kernel's rules.
//   - Write writes the maps of a process's user namespace; ReadUIDMap and
//     ReadGIDMap read them back.
//   - Parse and Map.String read and write the kernel's text format.
//   - ReadSubUIDs and ReadSubGIDs read the ranges that /etc/subuid and
//     /etc/subgid delegate to a user: those an unprivileged caller may map,
//     through newuidmap and newgidmap, which Write runs for it.
//
// In five lines (from ExampleWrite, for a process pid in a user namespace
// whose maps are not written yet):
//
//	uid := idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}}
//	gid := idmap.Map{{Inside: 0, Outside: uint32(os.Getgid()), Count: 1}}
//	if err := idmap.Write(pid, uid, gid, idmap.Auto); err != nil { ... }
//	m, err := idmap.ReadUIDMap(pid)
//	outside, ok := m.Contains(0) // the caller's uid, true
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
// The kernel accepts a map once per namespace: Write makes one write(2) at
// offset 0 of each file, and a second Write to the same process fails with
// EPERM. It writes setgroups before gid_map. A writer without CAP_SETGID over
// the parent namespace may map only its own group ID, and only after
// setgroups is set to "deny"; the zero value of SetGroups (Auto) picks that
// for it. A writer without CAP_SETUID (CAP_SETGID) that asks for more than
// its own ID gets it through newuidmap (newgidmap), for the ranges that
// /etc/subuid (/etc/subgid) delegates to it.
//
// # Errors
//
// Validation errors are *RangeError and name the range. Read and write errors
// are *os.PathError naming the /proc file and wrapping the errno, so
// errors.Is(err, os.ErrPermission) and errors.Is(err, os.ErrNotExist) work.
// An error from newuidmap or newgidmap names the program and wraps its exit
// status.
//
// # Internals
//
// Every file is opened relative to the /proc/PID directory, after checking
// that this directory really is on procfs, so a recycled PID or a swapped
// symlink cannot redirect a write.
package idmap
