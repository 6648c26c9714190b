package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// failure is the start of bwrap's message when the option fails in the
// sandbox; the errno's text follows.
func (o *op) failure() string {
	switch o.kind {
	case opBind, opROBind, opDevBind:
		// bwrap's words, with the paths in its setup's view.
		src := o.resolved
		if src == "" {
			src = o.source
		}
		return fmt.Sprintf("Can't bind mount /oldroot%s on /newroot%s: Unable to mount source on destination", src, sandboxPath(o.dest))
	case opRemountRO:
		return fmt.Sprintf("Can't remount readonly on %s", o.dest)
	case opProc:
		return fmt.Sprintf("Can't mount proc on %s", o.dest)
	case opDev:
		return fmt.Sprintf("Can't mount dev on %s", o.dest)
	case opTmpfs:
		return fmt.Sprintf("Can't mount tmpfs on %s", o.dest)
	case opMqueue:
		return fmt.Sprintf("Can't mount mqueue on %s", o.dest)
	case opDir:
		return fmt.Sprintf("Can't mkdir %s", o.dest)
	case opFile, opBindData, opROBindData:
		return fmt.Sprintf("Can't create file at %s", o.dest)
	case opSymlink:
		return fmt.Sprintf("Can't make symlink at %s", o.dest)
	case opChmod:
		return fmt.Sprintf("Can't chmod %#o %s", o.perms, o.dest)
	}
	return o.flag + " " + o.dest
}

// sandboxPath is a destination as bwrap takes it: relative to the new root.
func sandboxPath(dest string) string {
	return path.Clean("/" + dest)
}

// mounts turns the file system options into the library's Mounts, in
// order, after the root: an empty tmpfs, as bwrap's. c.plan records, for
// each entry, the option it comes from.
func (c *config) mounts() ([]namespace.MountSpec, error) {
	// bwrap's root is a directory (mode 0755) on a tmpfs; here the tmpfs
	// itself, with that mode.
	ms := []namespace.MountSpec{{Source: "tmpfs", Target: "/", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV, Data: "mode=0755"}}
	c.plan = []*op{nil}
	// A bind on / that comes first is the root itself, in place of the
	// tmpfs, which it would cover.
	rootBind := -1
	if len(c.ops) > 0 {
		if o := &c.ops[0]; (o.kind == opBind || o.kind == opROBind || o.kind == opDevBind) && sandboxPath(o.dest) == "/" {
			rootBind = 0
		}
	}
	add := func(o *op, specs ...namespace.MountSpec) {
		if len(specs) > 0 && specs[0].Target == "/" {
			if len(ms) == 1 && ms[0].Type == "tmpfs" && c.plan[0] == nil && rootBind >= 0 {
				ms, c.plan = ms[:0], c.plan[:0]
			}
		}
		for range specs {
			c.plan = append(c.plan, o)
		}
		ms = append(ms, specs...)
	}
	for i := range c.ops {
		o := &c.ops[i]
		if strings.Contains(o.dest, "\x00") {
			return nil, dief("%s: Invalid argument", o.failure())
		}
		// A destination that climbs out of the root is refused, where bwrap
		// would make it outside the new root, on its own tmpfs.
		if hasDotDot(o.dest) {
			return nil, dief("Can't mkdir parents for %s: Invalid argument", o.dest)
		}
		dest := sandboxPath(o.dest)
		// bwrap 0.8.0 makes the missing parents of what an option without
		// --perms creates 0700 (its perms are 0 there, not unset).
		var noPermsParent os.FileMode
		if o.perms == -1 && !c.existsBefore(path.Dir(dest), i) {
			noPermsParent = 0o700
		}
		switch o.kind {
		case opBind, opROBind, opDevBind:
			src, err := realpath(o.source)
			if err != nil {
				if o.allowMissing && errors.Is(err, os.ErrNotExist) {
					o.skipped = true
					continue
				}
				return nil, dief("Can't find source path %s: %s", o.source, errnoText(err))
			}
			o.resolved = src
			if dest == "/" && len(ms) > 1 {
				return nil, notSupported(o.flag + " on / after other options")
			}
			flags := uintptr(unix.MS_REC | unix.MS_NOSUID)
			if o.kind != opDevBind {
				flags |= unix.MS_NODEV
			}
			if o.kind == opROBind {
				flags |= unix.MS_RDONLY
			}
			add(o, namespace.MountSpec{Source: src, Target: dest, Type: "bind", Flags: flags, ParentMode: noPermsParent})
		case opProc:
			if c.unsharePID || c.pidnsFD != -1 {
				add(o, namespace.MountSpec{Source: "proc", Target: dest, Type: "proc", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ParentMode: noPermsParent})
			} else {
				add(o, namespace.MountSpec{Source: "/proc", Target: dest, Type: "bind", Flags: unix.MS_REC | unix.MS_NOSUID | unix.MS_NODEV, ParentMode: noPermsParent})
			}
			// bwrap covers the writable parts of /proc with read-only
			// binds of themselves: those its setup process may write to,
			// which root's may (as root, in a user namespace or not).
			for _, sub := range []string{"sys", "sysrq-trigger", "irq", "bus"} {
				if c.realUID != 0 || unix.Access("/proc/"+sub, unix.W_OK) != nil {
					continue
				}
				flags := uintptr(unix.MS_REC | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV)
				if c.unsharePID {
					flags |= unix.MS_NOEXEC
				}
				add(o, namespace.MountSpec{Source: "/proc/" + sub, Target: path.Join(dest, sub), Type: "bind", Flags: flags})
			}
		case opDev:
			dev := namespace.DevMounts(dest)
			dev[0].ParentMode = noPermsParent
			add(o, dev...)
			// A /dev/console that is the caller's terminal, when standard
			// output is one, as bwrap makes.
			if tty, err := os.Readlink("/proc/self/fd/1"); err == nil && isTerminal(1) && strings.HasPrefix(tty, "/dev/") {
				add(o, namespace.MountSpec{Source: tty, Target: path.Join(dest, "console"), Type: "bind", Flags: unix.MS_NOSUID})
			}
		case opTmpfs:
			data := fmt.Sprintf("mode=%#o", o.perms)
			if o.size != 0 {
				data += fmt.Sprintf(",size=%d", o.size)
			}
			add(o, namespace.MountSpec{Source: "tmpfs", Target: dest, Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV, Data: data, ParentMode: parentMode(o.perms)})
			// (parentMode leaves 0 where bwrap's parents are the default 0755.)
		case opMqueue:
			add(o, namespace.MountSpec{Source: "mqueue", Target: dest, Type: "mqueue", ParentMode: noPermsParent})
		case opDir:
			spec := namespace.MountSpec{Target: dest, Type: "dir", ParentMode: parentMode(o.perms)}
			if o.perms != 0o755 {
				spec.Mode = fileMode(o.perms)
			}
			add(o, spec)
		case opSymlink:
			add(o, namespace.MountSpec{Source: o.source, Target: dest, Type: "symlink", ParentMode: noPermsParent})
		case opRemountRO:
			add(o, namespace.MountSpec{Target: dest, Type: "remount", Flags: unix.MS_RDONLY})
		case opFile, opBindData, opROBindData:
			f := os.NewFile(uintptr(o.fd), o.flag)
			data, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				return nil, dief("Can't write data to file %s: %s", o.dest, errnoText(err))
			}
			if data == nil {
				data = []byte{}
			}
			spec := namespace.MountSpec{Target: dest, Type: "file", Contents: data, Mode: fileMode(o.perms), ParentMode: parentMode(o.perms)}
			if o.kind != opFile {
				spec.Type = "bind"
				spec.Flags = unix.MS_NOSUID | unix.MS_NODEV
				if o.kind == opROBindData {
					spec.Flags |= unix.MS_RDONLY
				}
			}
			add(o, spec)
		case opChmod:
			add(o, namespace.MountSpec{Target: dest, Type: "chmod", Mode: fileMode(o.perms)})
		}
	}
	return ms, nil
}

// fileMode turns bwrap's octal permissions into an os.FileMode.
func fileMode(perms int) os.FileMode {
	if perms == 0 {
		return namespace.NoPermissions // --perms 0; the library's 0 is its default
	}
	m := os.FileMode(perms & 0o777)
	if perms&unix.S_ISUID != 0 {
		m |= os.ModeSetuid
	}
	if perms&unix.S_ISGID != 0 {
		m |= os.ModeSetgid
	}
	if perms&unix.S_ISVTX != 0 {
		m |= os.ModeSticky
	}
	return m
}

// parentMode is the mode bwrap gives the missing parents of what an option
// with --perms creates: 0755, less the group's and others' bits where the
// permissions give them nothing; 0 (the library's default, 0755 less the
// umask) where that is 0755.
func parentMode(perms int) os.FileMode {
	m := os.FileMode(0o755)
	if perms&0o070 == 0 {
		m &^= 0o050
	}
	if perms&0o007 == 0 {
		m &^= 0o005
	}
	if m == 0o755 {
		return 0
	}
	return m
}

// hasDotDot reports whether dest has a ".." component.
func hasDotDot(dest string) bool {
	for _, part := range strings.Split(dest, "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

// realpath resolves a bind's source as bwrap's realpath(3) does.
func realpath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	r, err := filepath.EvalSymlinks(abs)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return "", pe.Err
		}
		return "", err
	}
	return r, nil
}

// hostPath returns where a path of the sandbox comes from in the caller's
// view, as far as the options say before the sandbox exists: the source of
// the last bind that covers it. False when no bind does, or when a mount of
// something new (a tmpfs, a file) covers it afterwards.
func (c *config) hostPath(p string) (string, bool) {
	p = sandboxPath(p)
	src, ok := "", false
	for i := range c.ops {
		o := &c.ops[i]
		if o.skipped {
			continue
		}
		dest := sandboxPath(o.dest)
		rel, under := within(p, dest)
		if !under {
			continue
		}
		switch o.kind {
		case opBind, opROBind, opDevBind:
			src, ok = filepath.Join(o.resolved, rel), true
		case opProc, opDev, opTmpfs, opMqueue, opFile, opBindData, opROBindData, opSymlink:
			src, ok = "", false
		}
	}
	return src, ok
}

// existsBefore reports whether directory p will exist in the sandbox
// after the first n options, as far as they say: it is bound in from a
// directory the caller has, or a mount point or a directory an option
// makes, or a parent of one.
func (c *config) existsBefore(p string, n int) bool {
	p = sandboxPath(p)
	if p == "/" {
		return true
	}
	exists := false
	for i := range c.ops[:n] {
		o := &c.ops[i]
		if o.skipped || o.kind == opChmod || o.kind == opRemountRO {
			continue
		}
		dest := sandboxPath(o.dest)
		if _, under := within(dest, p); under && dest != p {
			exists = true // made as a parent of dest
			continue
		}
		rel, under := within(p, dest)
		if !under {
			continue
		}
		switch o.kind {
		case opBind, opROBind, opDevBind:
			st, err := os.Stat(filepath.Join(o.resolved, rel))
			exists = err == nil && st.IsDir()
		case opProc, opDev, opTmpfs, opMqueue:
			exists = rel == "."
		case opDir:
			exists = exists || rel == "."
		case opFile, opBindData, opROBindData, opSymlink:
			exists = false
		}
	}
	return exists
}

// within reports whether p is dir or under it, and p relative to dir.
func within(p, dir string) (string, bool) {
	if p == dir {
		return ".", true
	}
	if dir == "/" {
		return strings.TrimPrefix(p, "/"), true
	}
	if strings.HasPrefix(p, dir+"/") {
		return p[len(dir)+1:], true
	}
	return "", false
}

// isTerminal reports whether fd is a terminal.
func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}
