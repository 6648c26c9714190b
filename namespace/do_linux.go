package namespace

import (
	"errors"
	"fmt"
	"os"

	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// threadOrder is the order in which Do enters namespaces: mount last, after
// which the thread is never restored.
var threadOrder = []Kind{Cgroup, IPC, UTS, Net, PID, Mount}

// Do runs fn on an OS thread of its own that has entered the handle's
// namespaces, and returns fn's error, or the error entering them.
//
// The thread enters the kinds that a thread can: UTS, IPC, Net and Cgroup;
// PID for the children that fn starts (the thread's own PID never changes);
// and Mount, after unshare(CLONE_FS), which the thread cannot undo. Kinds the
// thread is in already are skipped. User and time namespaces cannot be entered
// by a multithreaded process (setns fails with EINVAL and EUSERS): if the
// handle holds one other than the caller's, Do returns an error and
// Handle.Spawn is the way in.
//
// fn runs on that thread alone: goroutines it starts run on other threads,
// in the caller's namespaces, not the handle's. After fn returns, the thread
// goes back to the Go scheduler only if it returned to its namespaces and
// every /proc/thread-self/ns link proves it; otherwise, and always after
// Mount, the runtime ends it. A panic in fn is raised again in the caller.
//
// Entering a namespace needs CAP_SYS_ADMIN over its owner and in the caller's
// own user namespace; an unprivileged caller gets EPERM here and can enter
// its own user namespace's namespaces only through Handle.Spawn.
func (h *Handle) Do(fn func() error) error {
	release, err := h.use()
	if err != nil {
		return err
	}
	defer release()
	var result error
	var panicked any
	onOwnThread(func() (clean bool) {
		before, err := threadSnapshot()
		if err != nil {
			result = err
			return true
		}
		saved, err := h.enterThread(before)
		if err != nil {
			result = err
			return h.leaveThread(saved, before)
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					panicked = p
				}
			}()
			result = fn()
		}()
		return h.leaveThread(saved, before) && panicked == nil
	})
	if panicked != nil {
		panic(panicked)
	}
	return result
}

// entered is one namespace that the thread left for the handle's, with a
// descriptor on the one it left.
type entered struct {
	kind Kind
	back int // -1 for Mount, which is never restored
}

// snapshot is every namespace link of a thread, by link name.
type snapshot map[string]ID

// snapshotLinks are the names threadSnapshot reads, for the kinds the kernel
// has, with pid_for_children and time_for_children.
var snapshotLinks = func() []string {
	var names []string
	for k := range procfs.Supported().Each() {
		names = append(names, k.String())
		if k == PID || k == Time {
			names = append(names, k.String()+"_for_children")
		}
	}
	return names
}()

// threadSnapshot reads every namespace link of the calling thread, through
// one descriptor on /proc/thread-self/ns, by readlink (see
// procfs.NsfsDevice). A pid_for_children link is absent
// until a first child exists after unshare; it reads as a zero ID.
func threadSnapshot() (snapshot, error) {
	const dir = "/proc/thread-self/ns"
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	dev, err := procfs.NsfsDevice()
	if err != nil {
		return nil, err
	}
	s := make(snapshot, len(snapshotLinks))
	buf := make([]byte, 64)
	for _, name := range snapshotLinks {
		n, err := unix.Readlinkat(fd, name, buf)
		switch {
		case err == unix.ENOENT:
			s[name] = ID{}
			continue
		case err != nil:
			return nil, &os.PathError{Op: "readlink", Path: dir + "/" + name, Err: err}
		}
		_, ino, err := procfs.ParseLink(string(buf[:n]))
		if err != nil {
			return nil, err
		}
		s[name] = ID{Dev: dev, Ino: ino}
	}
	return s, nil
}

// enterThread moves the calling, locked thread into the handle's namespaces.
// It returns what it entered, also on failure, for leaveThread.
func (h *Handle) enterThread(before snapshot) ([]entered, error) {
	for _, k := range []Kind{User, Time} {
		if id, ok := h.ids[k]; ok && id != before[k.String()] {
			return nil, fmt.Errorf("join %s %s: a Go thread cannot enter a %s namespace (setns refuses a multithreaded process): use Handle.Spawn", h.desc, k, k)
		}
	}
	var done []entered
	for _, k := range threadOrder {
		id, ok := h.ids[k]
		if !ok {
			continue
		}
		current := before[k.String()]
		if k == PID {
			current = before["pid_for_children"]
		}
		if id == current {
			continue
		}
		e := entered{kind: k, back: -1}
		switch k {
		case Mount:
			if err := unix.Unshare(unix.CLONE_FS); err != nil {
				return done, h.joinError(k, os.NewSyscallError("unshare CLONE_FS", err))
			}
			done = append(done, e) // the thread shares no file system state now
		default:
			link := "/proc/thread-self/ns/" + k.String()
			if k == PID {
				link = "/proc/thread-self/ns/pid" // where pid_for_children returns
			}
			fd, err := unix.Open(link, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return done, h.joinError(k, &os.PathError{Op: "open", Path: link, Err: err})
			}
			e.back = fd
		}
		if err := unix.Setns(h.fds[k], int(k)); err != nil {
			if e.back >= 0 {
				unix.Close(e.back)
			}
			return done, h.joinError(k, os.NewSyscallError("setns", err))
		}
		if k != Mount {
			done = append(done, e)
		}
	}
	return done, nil
}

// leaveThread returns the thread to the namespaces it left and reports
// whether it provably is back: clean to return to the scheduler.
func (h *Handle) leaveThread(done []entered, before snapshot) bool {
	clean := true
	for i := len(done) - 1; i >= 0; i-- {
		e := done[i]
		if e.back < 0 {
			clean = false // Mount, or CLONE_FS given up
			continue
		}
		if unix.Setns(e.back, int(e.kind)) != nil {
			clean = false
		}
		unix.Close(e.back)
	}
	if !clean {
		return false
	}
	after, err := threadSnapshot()
	if err != nil || len(after) != len(before) {
		return false
	}
	for name, id := range before {
		if after[name] != id {
			return false
		}
	}
	return true
}

func (h *Handle) joinError(k Kind, err error) error {
	if errors.Is(err, unix.EPERM) && !hasCapSysAdmin() {
		return fmt.Errorf("join %s %s: %w (without CAP_SYS_ADMIN a process enters namespaces through their user namespace: use Handle.Spawn)", h.desc, k, err)
	}
	return fmt.Errorf("join %s %s: %w", h.desc, k, err)
}

func hasCapSysAdmin() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if unix.Capget(&hdr, &data[0]) != nil {
		return false
	}
	return data[0].Effective&(1<<unix.CAP_SYS_ADMIN) != 0
}
