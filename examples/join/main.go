// Command join enters the namespaces of a running process: the second
// namespace demo, done with nsgo instead of setns(2) from C.
//
// Usage:
//
//	go run ./examples/join [-stay] PID
//
// Start a container with go run ./examples/clone, find its shell's PID (the
// clone demo prints it), and join it from another terminal.
//
// Like the C demo, it prints its identity, then for uts, user, pid, ipc, net
// and mount in turn a header and its identity as seen from a thread that has
// joined the kinds so far. A Go program has several threads, and the kernel
// lets no multithreaded process enter a user namespace, while a PID namespace
// applies only to the children a thread starts: for those two it says so.
// Then it starts a child in all six namespaces, which prints its own identity
// inside the container, and prints the child's PID. It exits when the child
// does; with -stay, both stay, as in the C demo, until interrupted.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"sync"

	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

const childEnv = "NSGO_JOIN_CHILD"

func main() {
	if mode := os.Getenv(childEnv); mode != "" {
		child(os.Stdout, mode)
		return
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = "usage: join [-stay] PID"

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("join", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	stay := fs.Bool("stay", false, "keep this process and the child alive, as the C demo did")
	if err := fs.Parse(args); err == flag.ErrHelp {
		return 0
	} else if err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stdout, usage) // as the C demo did, and exit 0
		return 0
	}
	if fs.NArg() > 1 {
		fmt.Fprintf(stderr, "join: one PID, not %d arguments\n", fs.NArg())
		fs.Usage()
		return 2
	}
	pid, err := strconv.Atoi(fs.Arg(0))
	if err != nil || pid <= 0 {
		fmt.Fprintf(stderr, "join: not a PID: %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	if _, isFile := stdout.(*os.File); !isFile {
		// The child's output is copied into stdout by a goroutine while this
		// one writes too; a file is passed to the child as it is.
		stdout = &syncWriter{w: stdout}
	}

	identity(stdout)
	var joined namespace.Kind
	for _, step := range []struct {
		header string
		kind   namespace.Kind
	}{
		{"uts", namespace.UTS}, {"user", namespace.User}, {"pid", namespace.PID},
		{"ipc", namespace.IPC}, {"net", namespace.Net}, {"mount", namespace.Mount},
	} {
		fmt.Fprintf(stdout, "---- setns for %s ----\n", step.header)
		joined |= step.kind
		// Whether the child below can enter this kind, with those before it:
		// a failure is this kind's, and ends the demo here, as the C demo's
		// failed setns did.
		if err := probe(pid, joined); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		switch step.kind {
		case namespace.User:
			fmt.Fprintln(stdout, "a Go thread cannot enter a user namespace (the kernel refuses a multithreaded process); the child below does")
			continue
		case namespace.PID:
			fmt.Fprintln(stdout, "a thread's own PID namespace never changes, setns only places its children; the child below is inside")
			continue
		}
		h, err := namespace.Join(pid, joined&^namespace.User)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		err = h.Do(func() error { identity(stdout); return nil })
		h.Close()
		if err != nil {
			fmt.Fprintf(stdout, "this thread cannot: %v\n", err)
		}
	}

	h, err := namespace.Join(pid, joined)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer h.Close()
	mode := "exit"
	if *stay {
		mode = "stay"
		signal.Notify(make(chan os.Signal, 1), os.Interrupt) // the child gets Ctrl-C, we wait for it
	}
	p, err := h.Spawn(namespace.Options{
		Path:   "/proc/self/exe",
		Args:   []string{"join-child"},
		Env:    append(os.Environ(), childEnv+"="+mode),
		Stdout: stdout,
		Stderr: stderr,
	})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "child pid : %d\n", p.Pid)
	if _, err := p.Wait(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// probe reports whether a child can enter the namespaces of the given kinds
// that process pid is in, as the demo's child enters them at the end: it
// starts this program there, to exit at once. Before the user namespace's
// turn, the kinds are tried with it too, since the child enters it first
// where that grants the rights for the rest (an unprivileged caller joining
// its own container); a failure then is the user namespace's, shown at its
// turn, unless the kinds fail without it as well.
func probe(pid int, kinds namespace.Kind) error {
	err := probeOnce(pid, kinds)
	if err != nil && !kinds.Has(namespace.User) && probeOnce(pid, kinds|namespace.User) == nil {
		return nil
	}
	return err
}

func probeOnce(pid int, kinds namespace.Kind) error {
	h, err := namespace.Join(pid, kinds)
	if err != nil {
		return err
	}
	defer h.Close()
	p, err := h.Spawn(namespace.Options{
		Path: "/proc/self/exe",
		Args: []string{"join-probe"},
		Env:  append(os.Environ(), childEnv+"=probe"),
	})
	if ce := (*namespace.ChildError)(nil); errors.As(err, &ce) {
		// "setns pid 42 net: operation not permitted": the step that failed
		// in the child, as the C demo's perror named its call.
		return fmt.Errorf("%s: %w", ce.Step, ce.Err)
	}
	if err != nil {
		return err
	}
	state, err := p.Wait()
	if err == nil && !state.Success() {
		err = fmt.Errorf("join pid %d %s: probe child: %s", pid, kinds, state)
	}
	return err
}

// child runs in the joined namespaces. In mode "probe" it only shows that
// it got there; "stay" keeps it alive until a signal ends it.
func child(w io.Writer, mode string) {
	if mode == "probe" {
		return
	}
	stay := mode == "stay"
	fmt.Fprintln(w, "********")
	fmt.Fprintln(w, "in child process")
	identity(w)
	fmt.Fprintln(w, "********")
	for stay {
		unix.Pause() // sleep until a signal ends the process, as the C demo did
	}
}

// identity prints what the C demo printed: the process ID, user and group
// ID, and the host name of the calling thread's UTS namespace.
func identity(w io.Writer) {
	var u unix.Utsname
	unix.Uname(&u)
	fmt.Fprintf(w, "pid : %d\nuid : %d\ngid : %d\nhostname : %s\n",
		os.Getpid(), os.Getuid(), os.Getgid(), unix.ByteSliceToString(u.Nodename[:]))
}

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
