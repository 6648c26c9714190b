package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// A terminal of the command's own.
//
// When standard input is a terminal, the command gets a new
// pseudo-terminal, as docker run -t and systemd-nspawn give: it leads a
// session of its own (Setsid) whose controlling terminal is the new pty's
// replica (Setctty, Ctty 0), so its process group is that terminal's
// foreground group, and its shell has job control inside the PID
// namespace, where it is process 1. The demo copies what is typed on its own
// terminal, switched to raw mode meanwhile, to the pty, and what the
// command writes back, and passes on window size changes.
//
// Setctty on the caller's own terminal would not do: it is the controlling
// terminal of the caller's login session, which only CAP_SYS_ADMIN in the
// initial user namespace may take from it (and then that session has lost
// it); and a program in the caller's session can push input into the
// caller's terminal with TIOCSTI, to be run by the caller's shell once the
// demo has exited, which bwrap's --new-session is there to prevent.

// ptyPair is a new pseudo-terminal: master for the demo, replica for the
// command.
type ptyPair struct {
	master, replica *os.File
}

// openPty opens a new pseudo-terminal pair, as posix_openpt(3),
// unlockpt(3) and ptsname(3) do.
func openPty() (*ptyPair, error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	var n uint32
	rc, err := m.SyscallConn()
	if err == nil {
		cerr := rc.Control(func(fd uintptr) {
			if err = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); err == nil {
				n, err = unix.IoctlGetUint32(int(fd), unix.TIOCGPTN)
			}
		})
		if err == nil {
			err = cerr
		}
	}
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("unlock %s: %w", m.Name(), err)
	}
	r, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, err
	}
	return &ptyPair{master: m, replica: r}, nil
}

// isTerminal reports whether fd is a terminal.
func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// withPty gives opts a new pty on standard input, output and error, in a
// session of the program's own, with the caller's terminal settings and
// size. The caller starts the program, then calls relay.
func withPty(opts *namespace.Options) (*ptyPair, error) {
	pty, err := openPty()
	if err != nil {
		return nil, err
	}
	// The caller's settings (erase character, ...) and window size.
	if t, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
		unix.IoctlSetTermios(int(pty.replica.Fd()), unix.TCSETS, t)
	}
	copyWinsize(pty)
	opts.Stdin, opts.Stdout, opts.Stderr = pty.replica, pty.replica, pty.replica
	opts.Setsid, opts.Setctty, opts.Ctty = true, true, 0
	return pty, nil
}

// copyWinsize gives the pty the size of the caller's terminal.
func copyWinsize(pty *ptyPair) {
	if ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ); err == nil {
		unix.IoctlSetWinsize(int(pty.replica.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// relay copies between the caller's terminal, in raw mode, and the pty
// until the program has exited (wait returns) and its output is drained,
// then restores the terminal and returns what wait returned.
func relay(pty *ptyPair, p *namespace.Process) (*os.ProcessState, error) {
	pty.replica.Close() // the program's now
	old, err := unix.IoctlGetTermios(0, unix.TCGETS)
	if err != nil {
		p.Kill()
		p.Wait()
		return nil, fmt.Errorf("terminal settings: %w", err)
	}
	raw := *old
	// cfmakeraw(3).
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(0, unix.TCSETS, &raw); err != nil {
		p.Kill()
		p.Wait()
		return nil, fmt.Errorf("raw mode: %w", err)
	}
	restore := func() { unix.IoctlSetTermios(0, unix.TCSETS, old) }
	defer restore()

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGWINCH, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	// What the program writes, until every replica is closed (EIO).
	drained := make(chan struct{})
	go func() {
		io.Copy(os.Stdout, pty.master)
		close(drained)
	}()
	// What is typed. This goroutine stays blocked in its read when the
	// program is gone; the demo exits then.
	go io.Copy(pty.master, os.Stdin)

	type result struct {
		state *os.ProcessState
		err   error
	}
	waited := make(chan result, 1)
	go func() {
		st, err := p.Wait()
		waited <- result{st, err}
	}()
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGWINCH {
				copyWinsize(pty)
				continue
			}
			// Asked to end: end the program, then the relay.
			p.Kill()
		case r := <-waited:
			// Processes that the program left may hold the replica: do
			// not wait for them long.
			select {
			case <-drained:
			case <-time.After(time.Second):
			}
			pty.master.Close()
			if r.err == nil && r.state == nil {
				r.err = errors.New("no state")
			}
			return r.state, r.err
		}
	}
}
