package namespace

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// Process is a program started by Spawn. Wait must be called to release it.
type Process struct {
	// Pid is the process ID as the caller's PID namespace sees it.
	Pid int

	// pidfd refers to the program (CLONE_PIDFD, or pidfd_open right after
	// the start); Signal and Kill go through it and Wait closes it, under
	// mu, setting pidfdDone. Without one (pidfdErr says why), proc, a
	// handle by PID, serves instead.
	pidfd     *os.File
	pidfdNum  int
	pidfdErr  error
	mu        sync.Mutex
	pidfdDone bool
	proc      *os.Process

	copiers        int        // goroutines copying stdio
	copyErrs       chan error // one result from each
	closeAfterWait []io.Closer
	waitOnce       sync.Once
	state          *os.ProcessState
	waitErr        error
	// afterWait, if set, runs once the program was waited for: SpawnContext
	// stops watching its context there.
	afterWait func() bool
	// releaseInit, with Init, releases what the init used of this
	// process's memory once it was reaped (see keepForInit).
	releaseInit func()
}

// newProcess returns the Process of the running program pid, with pidfd,
// its pidfd from clone3, or nil: then it opens one. The program is the
// caller's child and not reaped, so its PID names it and no other process
// until Wait, even after it exited: pidfd_open cannot take another.
func (s *spawn) newProcess(pid int, pidfd *os.File) (*Process, error) {
	p := &Process{Pid: pid, pidfd: pidfd, copiers: len(s.copiers), copyErrs: make(chan error, len(s.copiers)), closeAfterWait: s.closeAfterWait}
	if p.pidfd == nil {
		fd, err := unix.PidfdOpen(pid, 0) // close-on-exec
		if err != nil {
			// Linux before 5.3, a seccomp profile, no descriptor left:
			// os.Process works by PID, and PidFD says why it has none.
			p.pidfdErr = os.NewSyscallError("pidfd_open", err)
			if err == unix.ENOSYS {
				p.pidfdErr = fmt.Errorf("%w: %w", p.pidfdErr, &procfs.NotSupportedError{Feature: "pidfd_open", Version: "5.3"})
			}
			if p.proc, err = os.FindProcess(pid); err != nil {
				killAndReap(pid)
				return nil, err
			}
		} else {
			p.pidfd = os.NewFile(uintptr(fd), "pidfd")
		}
	}
	if p.pidfd != nil {
		p.pidfdNum = int(p.pidfd.Fd())
	}
	for _, c := range s.copiers {
		go func() { p.copyErrs <- c() }()
	}
	return p, nil
}

// Wait waits for the program to exit and for the goroutines that copy its
// standard input and output to finish, then releases everything Spawn held for
// it, the pidfd too. It returns the program's state; the error is a failure
// to wait or to copy, not the program's exit status, which the state tells.
// Wait may be called more than once and returns the same result.
func (p *Process) Wait() (*os.ProcessState, error) {
	p.waitOnce.Do(func() {
		if p.pidfd != nil {
			p.state, p.waitErr = p.waitPidfd()
		} else {
			p.state, p.waitErr = p.proc.Wait()
		}
		if p.afterWait != nil {
			p.afterWait()
		}
		if p.releaseInit != nil && p.state != nil {
			p.releaseInit()
		}
		var copyErr error
		for range p.copiers {
			if err := <-p.copyErrs; err != nil && copyErr == nil {
				copyErr = err
			}
		}
		for _, c := range p.closeAfterWait {
			c.Close()
		}
		if p.waitErr == nil {
			p.waitErr = copyErr
		}
	})
	return p.state, p.waitErr
}

// waitPidfd waits through the pidfd until the program exits, leaving it a
// zombie (WNOWAIT), and then lets an os.Process reap it, which alone can make
// an os.ProcessState; the zombie keeps its PID meanwhile, so the second
// pidfd that os.FindProcess opens is the program's, for a moment. Then it
// closes the pidfd.
func (p *Process) waitPidfd() (*os.ProcessState, error) {
	for {
		var info unix.Siginfo
		// Linux 5.4 has P_PIDFD; before, EINVAL, and os.Process waits alone.
		if err := unix.Waitid(unix.P_PIDFD, p.pidfdNum, &info, unix.WEXITED|unix.WNOWAIT, nil); err != unix.EINTR {
			break
		}
	}
	proc, err := os.FindProcess(p.Pid)
	var state *os.ProcessState
	if err == nil {
		state, err = proc.Wait()
	}
	p.mu.Lock()
	p.pidfdDone = true
	p.pidfd.Close()
	p.mu.Unlock()
	return state, err
}

// PidFD returns a pidfd of the program (see pidfd_open(2)): a descriptor
// that refers to the program's process and to no other, whatever process
// its PID may name later. poll(2) reports it readable once the program
// exits; pidfd_send_signal(2), waitid(2) with P_PIDFD (with WNOWAIT: Wait
// reaps the program) and setns(2) take it.
//
// The descriptor belongs to the Process, as os.File.Fd's belongs to the
// File: do not close it. It is valid until Wait reaps the program, and Wait
// closes it; from then on PidFD returns os.ErrProcessDone. A caller that
// uses it while another goroutine may call Wait must expect it to be closed
// as soon as the program has exited, or dup it (F_DUPFD_CLOEXEC) and own
// the copy. It is the descriptor clone3 made with the program (CLONE_PIDFD),
// or that Spawn opened right after the start, while the program was still
// its unreaped child. Where the kernel has no pidfd (Linux before 5.3, or a
// seccomp profile refuses pidfd_open) the error says why, and the Process
// signals and waits by PID.
func (p *Process) PidFD() (int, error) {
	if p.pidfd == nil {
		return -1, fmt.Errorf("no pidfd for process %d: %w", p.Pid, p.pidfdErr)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pidfdDone {
		return -1, os.ErrProcessDone
	}
	return p.pidfdNum, nil
}

// Signal sends sig to the program, through its pidfd where it has one.
// After the program was waited for, the error is os.ErrProcessDone.
func (p *Process) Signal(sig os.Signal) error {
	if p.pidfd == nil {
		return p.proc.Signal(sig)
	}
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("signal %v: unsupported signal type %T", sig, sig)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pidfdDone {
		return os.ErrProcessDone
	}
	switch err := unix.PidfdSendSignal(p.pidfdNum, s, nil, 0); err {
	case nil:
		return nil
	case unix.ESRCH:
		return os.ErrProcessDone
	default:
		return os.NewSyscallError("pidfd_send_signal", err)
	}
}

// Kill sends SIGKILL to the program.
func (p *Process) Kill() error { return p.Signal(os.Kill) }

// Namespaces returns the namespaces the program is in, read from
// /proc/PID/ns while it runs.
func (p *Process) Namespaces() (map[Kind]ID, error) {
	m, err := procfs.Namespaces(p.Pid)
	if errors.Is(err, os.ErrNotExist) {
		return nil, os.ErrProcessDone
	}
	return m, err
}
