package namespace

// Sessions, process groups and the controlling terminal: the parent's plan
// (planTerminal) and the child's steps (childSession, before the mounts, and
// childTerminal, once the program's descriptors are in place).
//
// The options mean what syscall.SysProcAttr's do, with one difference: Ctty
// is always a descriptor number of the program, for Setctty and Foreground
// alike (os/exec takes the parent's number for Foreground). The child:
//
//   - childSession, in the program's process (after the fork into a PID
//     namespace): setsid(2) for Setsid; setpgid(0, Pgid) for Setpgid, and
//     for Foreground without Setsid, as os/exec does.
//   - childTerminal, after the descriptors are in place: ioctl TIOCSCTTY on
//     Ctty for Setctty (with force 1, as os/exec); then for Foreground,
//     TIOCSPGRP on Ctty with the program's process group. A process outside
//     the terminal's foreground group that does that gets SIGTTOU, whose
//     default action stops it, unless the signal is blocked or ignored; the
//     child's mask is the caller's then, so the child blocks SIGTTOU around
//     the ioctl and restores the mask right after, as shells do.

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Steps of the terminal family, as reported through the error pipe.
const (
	stepSetsid uint32 = 150 + iota
	stepSetpgid
	stepSetctty
	stepBlockTTOU
	stepForeground
)

// termPlan is what the child needs for its session and terminal. The child
// writes only mask and pgrp, scalars.
type termPlan struct {
	setsid     bool
	setpgid    bool
	pgid       uintptr
	setctty    bool
	foreground bool
	ctty       uintptr
	ttou       uint64 // the signal set {SIGTTOU}
	mask       uint64 // the child's mask before it blocked SIGTTOU
	pgrp       int32  // TIOCSPGRP's argument
}

// planTerminal checks the terminal options and fills the plan.
func (s *spawn) planTerminal() error {
	o, t := s.opts, &s.plan.term
	switch {
	case o.Pgid < 0:
		return fmt.Errorf("invalid Pgid %d: negative", o.Pgid)
	case o.Pgid != 0 && !o.Setpgid && !o.Foreground:
		return fmt.Errorf("%s %d needs Setpgid (or Foreground)", "Pgid", o.Pgid)
	case o.Setsid && o.Setpgid:
		return fmt.Errorf("%s with Setsid: the leader of the new session leads a process group of its own and may not leave it (setpgid fails with EPERM)", "Setpgid")
	case o.Setsid && o.Pgid != 0:
		return fmt.Errorf("%s %d with Setsid: the leader of the new session leads a process group of its own and may not join another", "Pgid", o.Pgid)
	case o.Setctty && !o.Setsid:
		return fmt.Errorf("%s needs Setsid: only the leader of a session without a controlling terminal can acquire one (TIOCSCTTY)", "Setctty")
	case o.Foreground && o.Setsid && !o.Setctty:
		return fmt.Errorf("%s with Setsid needs Setctty: the new session has no controlling terminal to be in the foreground of", "Foreground")
	case o.Ctty != 0 && !o.Setctty && !o.Foreground:
		return fmt.Errorf("%s %d needs Setctty or Foreground", "Ctty", o.Ctty)
	case o.Pgid != 0 && o.New.Has(PID):
		return fmt.Errorf("%s %d with a new PID namespace: the program is its PID 1, and no other process group exists there to join", "Pgid", o.Pgid)
	}
	t.setsid = o.Setsid
	t.setpgid = o.Setpgid || o.Foreground && !o.Setsid
	t.pgid = uintptr(o.Pgid)
	if !o.Setctty && !o.Foreground {
		return nil
	}
	field := "Setctty"
	if !o.Setctty {
		field = "Foreground"
	}
	f, what, err := programFile(o, o.Ctty)
	if err != nil {
		return fmt.Errorf("%s: Ctty %d: %w", field, o.Ctty, err)
	}
	if f == nil {
		return fmt.Errorf("%s: Ctty %d: the program's descriptor %d (%s) is not a terminal", field, o.Ctty, o.Ctty, what)
	}
	if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err != nil {
		return fmt.Errorf("%s: Ctty %d: the program's descriptor %d (%s, %s) is not a terminal: %w", field, o.Ctty, o.Ctty, what, f.Name(), os.NewSyscallError("ioctl TCGETS", err))
	}
	if o.Foreground && !o.Setsid {
		// The program stays in the caller's session: the terminal must be
		// that session's, which TIOCGPGRP tells (ENOTTY otherwise).
		if _, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCGPGRP); err != nil {
			return fmt.Errorf("%s: Ctty %d: the program's descriptor %d (%s, %s) is not the controlling terminal of the caller's session, which the program stays in without Setsid: %w", "Foreground", o.Ctty, o.Ctty, what, f.Name(), os.NewSyscallError("ioctl TIOCGPGRP", err))
		}
	}
	t.setctty = o.Setctty
	t.foreground = o.Foreground
	t.ctty = uintptr(o.Ctty)
	t.ttou = 1 << (uint(syscall.SIGTTOU) - 1)
	return nil
}

// programFile returns the caller's file that becomes the program's
// descriptor fd, or nil and what the program gets there instead (/dev/null,
// a pipe) when that is not a file of the caller's; it is an error if the
// program has no descriptor fd.
func programFile(o *Options, fd int) (*os.File, string, error) {
	var v any
	var what string
	switch {
	case fd < 0 || fd >= 3+len(o.ExtraFiles):
		return nil, "", fmt.Errorf("not one of the program's descriptors (0 to %d: standard input, output, error and %d ExtraFiles)", 2+len(o.ExtraFiles), len(o.ExtraFiles))
	case fd == 0:
		v, what = o.Stdin, "Stdin"
	case fd == 1:
		v, what = o.Stdout, "Stdout"
	case fd == 2:
		v, what = o.Stderr, "Stderr"
	default:
		f := o.ExtraFiles[fd-3]
		if f == nil {
			return nil, "", fmt.Errorf("ExtraFiles[%d] is nil: the program's descriptor %d is closed", fd-3, fd)
		}
		return f, fmt.Sprintf("ExtraFiles[%d]", fd-3), nil
	}
	switch f := v.(type) {
	case nil:
		return nil, what + " is nil: " + os.DevNull, nil
	case *os.File:
		return f, what, nil
	default:
		return nil, fmt.Sprintf("%s is a %T: a pipe", what, v), nil
	}
}

// termStepName names a step of the terminal family, or returns "".
func (s *spawn) termStepName(step, idx uint32) string {
	o := s.opts
	switch step {
	case stepSetsid:
		return "setsid"
	case stepSetpgid:
		return fmt.Sprintf("setpgid 0 %d", o.Pgid)
	case stepSetctty:
		return fmt.Sprintf("ioctl TIOCSCTTY on descriptor %d (Setctty)", o.Ctty)
	case stepBlockTTOU:
		return "block SIGTTOU"
	case stepForeground:
		return fmt.Sprintf("ioctl TIOCSPGRP on descriptor %d (Foreground)", o.Ctty)
	}
	return ""
}

// childSession makes the new session or process group.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childSession(p *childPlan) {
	t := &p.term
	var e syscall.Errno
	if t.setsid {
		if _, _, e = syscall.RawSyscall6(syscall.SYS_SETSID, 0, 0, 0, 0, 0, 0); e != 0 {
			childFail(p, stepSetsid, e)
		}
	}
	if t.setpgid {
		if _, _, e = syscall.RawSyscall6(syscall.SYS_SETPGID, 0, t.pgid, 0, 0, 0, 0); e != 0 {
			childFail(p, stepSetpgid, e)
		}
	}
}

// childTerminal sets the controlling terminal and the foreground group.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childTerminal(p *childPlan) {
	t := &p.term
	var e syscall.Errno
	if t.setctty {
		if _, _, e = syscall.RawSyscall6(syscall.SYS_IOCTL, t.ctty, syscall.TIOCSCTTY, 1, 0, 0, 0); e != 0 {
			childFail(p, stepSetctty, e)
		}
	}
	if t.foreground {
		pgrp, _, _ := syscall.RawSyscall6(syscall.SYS_GETPGID, 0, 0, 0, 0, 0, 0)
		t.pgrp = int32(pgrp)
		if _, _, e = syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, 0 /* SIG_BLOCK */, uintptr(unsafe.Pointer(&t.ttou)), uintptr(unsafe.Pointer(&t.mask)), 8, 0, 0); e != 0 {
			childFail(p, stepBlockTTOU, e)
		}
		_, _, e = syscall.RawSyscall6(syscall.SYS_IOCTL, t.ctty, syscall.TIOCSPGRP, uintptr(unsafe.Pointer(&t.pgrp)), 0, 0, 0)
		syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, 2 /* SIG_SETMASK */, uintptr(unsafe.Pointer(&t.mask)), 0, 8, 0, 0)
		if e != 0 {
			childFail(p, stepForeground, e)
		}
	}
}
