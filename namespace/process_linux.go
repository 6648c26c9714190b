package namespace

import (
	"errors"
	"io"
	"os"
	"sync"

	"github.com/nsgo/nsgo/procfs"
)

// Process is a program started by Spawn. Wait must be called to release it.
type Process struct {
	// Pid is the process ID as the caller's PID namespace sees it.
	Pid int

	proc           *os.Process
	copiers        int        // goroutines copying stdio
	copyErrs       chan error // one result from each
	closeAfterWait []io.Closer
	waitOnce       sync.Once
	state          *os.ProcessState
	waitErr        error
}

func (s *spawn) newProcess(pid int) (*Process, error) {
	proc, err := os.FindProcess(pid) // a pidfd-backed handle where the kernel has pidfd_open
	if err != nil {
		killAndReap(pid)
		return nil, err
	}
	p := &Process{Pid: pid, proc: proc, copiers: len(s.copiers), copyErrs: make(chan error, len(s.copiers)), closeAfterWait: s.closeAfterWait}
	for _, c := range s.copiers {
		go func() { p.copyErrs <- c() }()
	}
	return p, nil
}

// Wait waits for the program to exit and for the goroutines that copy its
// standard input and output to finish, then releases everything Spawn held for
// it. It returns the program's state; the error is a failure to wait or to
// copy, not the program's exit status, which the state tells. Wait may be
// called more than once and returns the same result.
func (p *Process) Wait() (*os.ProcessState, error) {
	p.waitOnce.Do(func() {
		p.state, p.waitErr = p.proc.Wait()
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

// Signal sends sig to the program. After the program was waited for, the
// error is os.ErrProcessDone.
func (p *Process) Signal(sig os.Signal) error { return p.proc.Signal(sig) }

// Kill sends SIGKILL to the program.
func (p *Process) Kill() error { return p.proc.Kill() }

// Namespaces returns the namespaces the program is in, read from
// /proc/PID/ns while it runs.
func (p *Process) Namespaces() (map[Kind]ID, error) {
	m, err := procfs.Namespaces(p.Pid)
	if errors.Is(err, os.ErrNotExist) {
		return nil, os.ErrProcessDone
	}
	return m, err
}
