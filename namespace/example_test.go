package namespace_test

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
)

// Start a shell with a host name of its own. Mapping the caller's IDs to root
// inside a new user namespace makes this work without privileges.
func ExampleSpawn() {
	p, err := namespace.Spawn(namespace.Options{
		Path:     "/bin/sh",
		Args:     []string{"sh", "-c", "hostname; id -u"},
		New:      namespace.User | namespace.UTS,
		UIDMap:   idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}},
		GIDMap:   idmap.Map{{Inside: 0, Outside: uint32(os.Getgid()), Count: 1}},
		Hostname: "container",
		Stdout:   os.Stdout,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := p.Wait(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// container
	// 0
}

// A PID namespace with a /proc of its own: the program is process 1, and
// /proc/1 is the program, not the host's init.
func ExampleSpawn_pid() {
	p, err := namespace.Spawn(namespace.Options{
		Path:      "/bin/sh",
		Args:      []string{"sh", "-c", "echo $$; cat /proc/1/comm"},
		New:       namespace.User | namespace.PID | namespace.Mount,
		UIDMap:    idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}},
		GIDMap:    idmap.Map{{Inside: 0, Outside: uint32(os.Getgid()), Count: 1}},
		MountProc: true,
		Stdout:    os.Stdout,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	p.Wait()
	// Output:
	// 1
	// sh
}

// A failure in the child comes back as an error naming the step.
func ExampleChildError() {
	_, err := namespace.Spawn(namespace.Options{Path: "/nonexistent/program"})
	fmt.Println(err)
	fmt.Println(errors.Is(err, os.ErrNotExist))
	// Output:
	// spawn /nonexistent/program: child execve: no such file or directory
	// true
}

// Which namespaces a spawned process is in, read from /proc while it runs.
func ExampleProcess_Namespaces() {
	p, err := namespace.Spawn(namespace.Options{
		Path:   "/bin/sleep",
		Args:   []string{"sleep", "10"},
		New:    namespace.User | namespace.Net,
		UIDMap: idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Wait()
	defer p.Kill()
	child, _ := p.Namespaces()
	self, _ := procfs.Namespaces(os.Getpid())
	for _, k := range []namespace.Kind{namespace.User, namespace.Net, namespace.UTS} {
		fmt.Printf("%s new: %v\n", k, child[k] != self[k])
	}
	// Output:
	// user new: true
	// net new: true
	// uts new: false
}

// Run Go code in a network namespace of its own, such as a test's throwaway
// one: a fresh namespace has only a loopback device. Unshare and Do need
// CAP_SYS_ADMIN, so this example is not run by go test.
func ExampleHandle_Do() {
	h, err := namespace.Unshare(namespace.Net)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()
	err = h.Do(func() error {
		ifaces, err := net.Interfaces()
		for _, iface := range ifaces {
			fmt.Println(iface.Name) // lo
		}
		return err
	})
	if err != nil {
		fmt.Println(err)
	}
}

// Start a program inside the namespaces of a running container: it sees the
// container's host name, is root there, and is its second process.
func ExampleHandle_Spawn() {
	container, err := namespace.Spawn(namespace.Options{
		Path:     "/bin/sleep",
		Args:     []string{"sleep", "10"},
		New:      namespace.User | namespace.UTS | namespace.PID,
		UIDMap:   idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}},
		GIDMap:   idmap.Map{{Inside: 0, Outside: uint32(os.Getgid()), Count: 1}},
		Hostname: "container",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer container.Wait()
	defer container.Kill()

	h, err := namespace.Join(container.Pid, namespace.User|namespace.UTS|namespace.PID)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()
	p, err := h.Spawn(namespace.Options{
		Path:   "/bin/sh",
		Args:   []string{"sh", "-c", "hostname; id -u; echo $$"},
		Stdout: os.Stdout,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	p.Wait()
	// Output:
	// container
	// 0
	// 2
}
