// Command clone starts a shell in new namespaces: the first namespace demo,
// done with nsgo instead of clone(2) from C.
//
// By default it starts /bin/bash, with an empty environment as the C demo did,
// in new uts, mnt, pid, user and ipc namespaces, and maps the caller's user
// and group ID to root inside, so that the shell can set its host name and
// mount things that only it sees. It prints "clone() returned PID", waits for
// the shell and prints "child has terminated".
//
// Usage:
//
//	go run ./examples/clone [flags] [command [arg...]]
//
// Try, inside the shell: hostname container; hostname (the host keeps its
// name); echo $$ (the shell is process 1); id (root, mapped to you outside);
// mount -t proc proc /proc && ps ax (only the container's processes), or start
// with -mount-proc.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
)

func main() {
	kinds := flag.String("ns", "uts,mnt,pid,user,ipc", "namespaces to create: uts, mnt, pid, user, ipc, net, cgroup, time, or all")
	hostname := flag.String("hostname", "", "host name to set in the new uts namespace")
	mountProc := flag.Bool("mount-proc", false, "mount a new /proc (needs mnt and pid)")
	mapRoot := flag.Bool("map-root", true, "map your user and group ID to root in the new user namespace")
	keepEnv := flag.Bool("env", false, "pass your environment to the command (the C demo passed none)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags] [command [arg...]]\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()

	os.Exit(run(*kinds, *hostname, *mountProc, *mapRoot, *keepEnv, flag.Args()))
}

func run(kinds, hostname string, mountProc, mapRoot, keepEnv bool, args []string) int {
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
		Env:       []string{},
		New:       newKinds,
		Hostname:  hostname,
		MountProc: mountProc,
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
	p, err := namespace.Spawn(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "clone:", err)
		return 1
	}
	fmt.Printf("clone() returned %d\n", p.Pid)
	if _, err := p.Wait(); err != nil {
		fmt.Fprintln(os.Stderr, "waitpid:", err)
		return 1
	}
	fmt.Println("child has terminated")
	return 0
}
