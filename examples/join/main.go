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
		child(os.Stdout, mode == "stay")
		return
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("join", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stay := fs.Bool("stay", false, "keep this process and the child alive, as the C demo did")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stdout, "usage: join [-stay] PID")
		return 0
	}
	if _, isFile := stdout.(*os.File); !isFile {
		// The child's output is copied into stdout by a goroutine while this
		// one writes too; a file is passed to the child as it is.
		stdout = &syncWriter{w: stdout}
	}
	pid, err := strconv.Atoi(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "join: not a PID:", fs.Arg(0))
		return 1
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
		switch step.kind {
		case namespace.User:
			fmt.Fprintln(stdout, "a Go thread cannot enter a user namespace (the kernel refuses a multithreaded process); the child below does")
			continue
		case namespace.PID:
			fmt.Fprintln(stdout, "a thread's own PID namespace never changes, setns only places its children; the child below is inside")
			continue
		}
		joined |= step.kind
		h, err := namespace.Join(pid, joined)
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

	h, err := namespace.Join(pid, namespace.UTS|namespace.User|namespace.PID|namespace.IPC|namespace.Net|namespace.Mount)
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

// child runs in the joined namespaces.
func child(w io.Writer, stay bool) {
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
