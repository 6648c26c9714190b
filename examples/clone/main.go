// Command clone starts a shell in new namespaces: the first namespace demo,
// done with nsgo instead of clone(2) from C.
//
// By default it starts /bin/bash in new uts, mnt, pid, user and ipc
// namespaces, and maps the caller's user and group ID to root inside, so that
// the shell can set its host name and mount things that only it sees. It
// prints "clone() returned PID", waits for the shell, prints "child has
// terminated" and exits with the shell's exit status, or 128 plus the signal
// number if a signal killed it, as shells report a command's status.
//
// The C demo gave bash an empty environment, which leaves it without PATH,
// HOME and TERM. This one passes a minimal environment instead, the same for
// every command, so the shell inside starts as a fresh root login would, with
// nothing of the caller's session but the terminal type:
//
//	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
//	TERM=the caller's TERM, or "dumb" if it has none
//	HOME=/root, or / where the user inside cannot enter /root
//
// PATH is the one Debian gives root (no "." and no caller's directories).
// TERM "dumb" when unset because it promises no cursor movement or colour,
// which suits output that goes to a pipe or a log, where TERM is usually
// unset. HOME is /root for root inside when that directory exists and the
// caller may enter it (with a user namespace, root inside has only the
// caller's rights over the host's files, and an unprivileged caller cannot
// enter the host's /root), so that cd and ~ work; else it is /. Nothing else is
// set: no locale (the C locale applies), no USER or SHELL. With -env the
// command gets the caller's whole environment instead.
//
// When standard input is a terminal, the command gets a pseudo-terminal of
// its own, as docker run -t gives: it leads a new session (Setsid) whose
// controlling terminal is the pty (Setctty), so the shell, process 1 of its
// PID namespace, has job control (set -m, jobs, fg, Ctrl-Z) and cannot push
// input into the caller's terminal (TIOCSTI). The demo relays between its
// terminal, in raw mode meanwhile, and the pty. With -pty=false the command
// gets the caller's terminal itself, as the C demo's did; a shell then has
// job control only if that terminal is the caller's controlling terminal.
//
// Usage:
//
//	go run ./examples/clone [flags] [command [arg...]]
//
// Try, inside the shell: hostname container; hostname (the host keeps its
// name); echo $$ (the shell is process 1); id (root, mapped to you outside);
// mount -t proc proc /proc && ps ax (only the container's processes), or start
// with -mount-proc.
//
// With -root DIR the command runs in DIR as its root directory: the child
// makes DIR a mount point in the new mount namespace, pivot_root(2)s into it
// and detaches the host's root, so that nothing else of the host's files is
// visible (with -mount-proc, a new /proc is mounted on DIR/proc first). DIR
// must hold the command and what it needs, an unpacked container image, say:
//
//	go run ./examples/clone -root /srv/alpine -mount-proc /bin/sh
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

func main() {
	kinds := flag.String("ns", "uts,mnt,pid,user,ipc", "namespaces to create: uts, mnt, pid, user, ipc, net, cgroup, time, or all")
	hostname := flag.String("hostname", "", "host name to set in the new uts namespace")
	mountProc := flag.Bool("mount-proc", false, "mount a new /proc (needs mnt and pid)")
	mapRoot := flag.Bool("map-root", true, "map your user and group ID to root in the new user namespace")
	keepEnv := flag.Bool("env", false, "pass your whole environment to the command (default: PATH, TERM and HOME only)")
	usePty := flag.Bool("pty", true, "when standard input is a terminal, give the command a new pseudo-terminal in a session of its own")
	root := flag.String("root", "", "directory to make the command's root (pivot_root; needs mnt); with -mount-proc, /proc is mounted there")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags] [command [arg...]]\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()

	os.Exit(run(*kinds, *hostname, *root, *mountProc, *mapRoot, *keepEnv, *usePty, flag.Args()))
}

func run(kinds, hostname, root string, mountProc, mapRoot, keepEnv, usePty bool, args []string) int {
	newKinds, err := namespace.ParseKinds(kinds)
	if err != nil {
		fmt.Fprintln(os.Stderr, "clone:", err)
		return 1
	}
	if len(args) == 0 {
		args = []string{"/bin/bash"}
	}
	opts := namespace.Options{
		Path:      args[0],
		Args:      args,
		Env:       minimalEnv(newKinds, mapRoot, root),
		New:       newKinds,
		Hostname:  hostname,
		MountProc: mountProc,
		Root:      root,
		Stdin:     os.Stdin,
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
	}
	if keepEnv {
		opts.Env = nil
	}
	if newKinds.Has(namespace.User) && mapRoot {
		opts.UIDMap = idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}}
		opts.GIDMap = idmap.Map{{Inside: 0, Outside: uint32(os.Getgid()), Count: 1}}
	}

	// Ctrl-C at the terminal reaches the whole foreground process group: let
	// the shell handle it, and keep waiting for it here. A handler, not
	// signal.Ignore: an ignored signal stays ignored across execve, and the
	// shell's commands would inherit that.
	signal.Notify(make(chan os.Signal, 1), os.Interrupt)
	var pty *ptyPair
	if usePty && isTerminal(0) {
		if pty, err = withPty(&opts); err != nil {
			fmt.Fprintln(os.Stderr, "clone: a terminal for the command:", err)
			return 1
		}
	}
	p, err := namespace.Spawn(opts)
	if err != nil {
		if pty != nil {
			pty.master.Close()
			pty.replica.Close()
		}
		fmt.Fprintln(os.Stderr, "clone:", err)
		return 1
	}
	fmt.Printf("clone() returned %d\n", p.Pid)
	var state *os.ProcessState
	if pty != nil {
		state, err = relay(pty, p)
	} else {
		state, err = p.Wait()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "waitpid:", err)
		return 1
	}
	fmt.Println("child has terminated")
	return exitCode(state)
}

// exitCode is the status a shell would report for the command: its exit
// status, or 128 plus the number of the signal that killed it.
func exitCode(state *os.ProcessState) int {
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return state.ExitCode()
}

// defaultPath is the PATH the command gets: Debian's for root.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// minimalEnv is the environment of the command, as the package comment
// describes.
func minimalEnv(kinds namespace.Kind, mapRoot bool, root string) []string {
	term := os.Getenv("TERM")
	if term == "" {
		term = "dumb"
	}
	home := "/"
	// Root inside is the caller, as far as the host's files go, when a user
	// namespace maps it so; without a user namespace it is the caller itself.
	rootInside := os.Getuid() == 0
	if kinds.Has(namespace.User) {
		rootInside = mapRoot
	}
	if rootInside && unix.Access(filepath.Join("/", root, "root"), unix.X_OK) == nil {
		home = "/root"
	}
	return []string{"PATH=" + defaultPath, "TERM=" + term, "HOME=" + home}
}
