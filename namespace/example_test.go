package namespace_test

import (
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

// Start a shell as process 1 of a PID namespace, with a host name and a /proc
// of its own. Mapping the caller's IDs to root inside a new user namespace
// makes this work without privileges.
func ExampleSpawn() {
	p, err := namespace.Spawn(namespace.Options{
		Path:      "/bin/sh",
		Args:      []string{"sh", "-c", "hostname; echo $$; id -u"},
		New:       namespace.User | namespace.UTS | namespace.PID | namespace.Mount,
		UIDMap:    idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}},
		GIDMap:    idmap.Map{{Inside: 0, Outside: uint32(os.Getgid()), Count: 1}},
		Hostname:  "container",
		MountProc: true,
		Stdout:    os.Stdout,
	})
	if err != nil {
		log.Fatal(err) // e.g. "spawn /bin/sh: child execve: no such file or directory"
	}
	state, err := p.Wait() // prints container, 1, 0
	if err != nil || !state.Success() {
		log.Fatal(state, err)
	}
	// Output:
	// container
	// 1
	// 0
}

// With a fresh /proc, /proc/1 is the program, not the host's init.
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

// Map a whole range of IDs, as container runtimes do: the program runs as
// root inside and as uid 100000 on the host, never as host root. Root may
// write such maps; an unprivileged user may for the ranges that /etc/subuid
// and /etc/subgid delegate to it, which Spawn writes through newuidmap and
// newgidmap. go test compiles this example but does not run it, as it needs
// one or the other. It prints 0, then the map as the kernel shows it:
// "0 100000 65536", padded.
func ExampleSpawn_ranges() {
	p, err := namespace.Spawn(namespace.Options{
		Path:   "/bin/sh",
		Args:   []string{"sh", "-c", "id -u; cat /proc/self/uid_map"},
		New:    namespace.User,
		UIDMap: idmap.Map{{Inside: 0, Outside: 100000, Count: 65536}},
		GIDMap: idmap.Map{{Inside: 0, Outside: 100000, Count: 65536}},
		Stdout: os.Stdout,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	p.Wait()
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

// Join a running process's network and UTS namespaces: run Go code in them on
// a thread of its own, then start a program in them, as nsenter does. The
// process here is a sleeper with namespaces of its own; Do prints its only
// network device, lo, and the program its host name, target. Entering another
// process's namespaces with Do needs CAP_SYS_ADMIN, so go test compiles this
// example but does not run it.
func ExampleJoin() {
	target, err := namespace.Spawn(namespace.Options{
		Path:     "/bin/sleep",
		Args:     []string{"sleep", "10"},
		New:      namespace.Net | namespace.UTS,
		Hostname: "target",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer target.Wait()
	defer target.Kill()
	pid := target.Pid

	h, err := namespace.Join(pid, namespace.Net|namespace.UTS) // pinned: PID reuse cannot fool it
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()
	err = h.Do(func() error {
		ifaces, err := net.Interfaces() // the target's network devices
		for _, iface := range ifaces {
			fmt.Println(iface.Name)
		}
		return err
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := h.Spawn(namespace.Options{Path: "/bin/hostname", Stdout: os.Stdout})
	if err != nil {
		fmt.Println(err)
		return
	}
	p.Wait()
}

// Run Go code in a network namespace of its own, such as a test's throwaway
// one: a fresh namespace has only a loopback device. Unshare and Do need
// CAP_SYS_ADMIN, so go test compiles this example but does not run it.
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

// A Do inside another Do's fn starts from the process's namespaces, not from
// the outer Do's: the inner fn runs on a thread of its own, which enters the
// inner handle's namespaces only. Here the outer fn is in a new network
// namespace and the inner fn in a new UTS namespace, but in the process's
// network namespace again. Unshare and Do need CAP_SYS_ADMIN, so go test
// compiles this example but does not run it. It prints:
//
//	outer fn in the new net: true
//	inner fn in the new uts: true
//	inner fn in the process's net: true
func ExampleHandle_Do_nested() {
	netNS, err := namespace.Unshare(namespace.Net)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer netNS.Close()
	utsNS, err := namespace.Unshare(namespace.UTS)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer utsNS.Close()
	self, err := procfs.Namespaces(os.Getpid())
	if err != nil {
		fmt.Println(err)
		return
	}

	err = netNS.Do(func() error {
		outer, err := procfs.ThreadNamespaces()
		if err != nil {
			return err
		}
		fmt.Println("outer fn in the new net:", outer[namespace.Net] == netNS.IDs()[namespace.Net])
		return utsNS.Do(func() error {
			inner, err := procfs.ThreadNamespaces()
			if err != nil {
				return err
			}
			fmt.Println("inner fn in the new uts:", inner[namespace.UTS] == utsNS.IDs()[namespace.UTS])
			fmt.Println("inner fn in the process's net:", inner[namespace.Net] == self[namespace.Net])
			return nil
		})
	})
	if err != nil {
		fmt.Println(err)
	}
}

// Name a throwaway network namespace in the file system, as ip netns add
// does, so that it outlives its handle; FromPath opens it again by name, and
// Unbind removes the name. Bind makes the directory holding the name a mount
// point (ip netns uses /run/netns), which this example unmounts when done.
// Unshare and Bind need CAP_SYS_ADMIN, so go test compiles this example but
// does not run it. It prints "net true".
func ExampleHandle_Bind() {
	dir, err := os.MkdirTemp("", "netns")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.Remove(dir)
	defer syscall.Unmount(dir, syscall.MNT_DETACH)
	path := filepath.Join(dir, "test")

	h, err := namespace.Unshare(namespace.Net)
	if err != nil {
		fmt.Println(err)
		return
	}
	id := h.IDs()[namespace.Net]
	err = h.Bind(namespace.Net, path)
	h.Close() // the name keeps the namespace alive
	if err != nil {
		fmt.Println(err)
		return
	}
	again, err := namespace.FromPath(path)
	if err != nil {
		fmt.Println(err)
	} else {
		fmt.Println(again.Kinds(), again.IDs()[namespace.Net] == id)
		again.Close()
	}
	if err := namespace.Unbind(path); err != nil {
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

// TestREADMESnippets checks that every Go snippet in the README is code from
// an example of this module (whole lines of one, in order, indentation and
// spacing aside), so that what the README shows compiles, and runs where the
// example has an Output comment.
func TestREADMESnippets(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("no ../README.md: the test binary runs outside the source tree")
	}
	if err != nil {
		t.Fatal(err)
	}
	var examples [][]string
	for _, pkg := range []string{"namespace", "idmap", "procfs"} {
		b, err := os.ReadFile(filepath.Join("..", pkg, "example_test.go"))
		if err != nil {
			t.Fatal(err)
		}
		examples = append(examples, codeLines(string(b)))
	}
	snippets := 0
	for i, block := range strings.Split(string(readme), "```")[1:] {
		if i%2 != 0 || !strings.HasPrefix(block, "go\n") {
			continue // text between blocks, or a block of another language
		}
		snippets++
		lines := codeLines(strings.TrimPrefix(block, "go\n"))
		found := false
		for _, ex := range examples {
			for start := 0; start+len(lines) <= len(ex) && !found; start++ {
				found = slices.Equal(ex[start:start+len(lines)], lines)
			}
		}
		if !found {
			t.Errorf("README snippet is not code from an example_test.go:\n%s", strings.TrimPrefix(block, "go\n"))
		}
	}
	if snippets == 0 {
		t.Error("README has no Go snippet: is the test reading the right file?")
	}
}

// codeLines returns the non-blank lines of s, each with its runs of blanks
// made one space and its leading and trailing blanks removed.
func codeLines(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if line = strings.Join(strings.Fields(line), " "); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// ExampleSpawn_sandbox runs a shell in bwrap's model of a sandbox: its root
// is a new, empty tmpfs (the first mount, on /), which the other mounts
// fill: read-only binds of the caller's /usr, /bin, /lib and /lib64, a
// minimal /dev, a tmpfs on /tmp and, with MountProc, the new PID
// namespace's /proc. No directory of the caller's is needed for the root:
// the child mounts the tmpfs on top of its own copy of /, then pivots into
// it and detaches the old root.
func ExampleSpawn_sandbox() {
	mounts := []namespace.MountSpec{{Source: "tmpfs", Target: "/", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV}}
	for _, dir := range []string{"/usr", "/bin", "/lib", "/lib64"} {
		mounts = append(mounts, namespace.MountSpec{Source: dir, Target: dir, Type: "bind", Flags: unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_REC})
	}
	mounts = append(mounts, namespace.DevMounts("/dev")...)
	mounts = append(mounts, namespace.MountSpec{Source: "tmpfs", Target: "/tmp", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV})

	p, err := namespace.Spawn(namespace.Options{
		Path:      "/bin/sh",
		Args:      []string{"sh", "-c", "ls /; echo pid $$; touch /usr/x || echo /usr is read-only"},
		New:       namespace.User | namespace.Mount | namespace.PID | namespace.IPC | namespace.UTS,
		UIDMap:    idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}},
		GIDMap:    idmap.Map{{Inside: 0, Outside: uint32(os.Getgid()), Count: 1}},
		Mounts:    mounts,
		MountProc: true,
		Stdout:    os.Stdout,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := p.Wait(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// bin
	// dev
	// lib
	// lib64
	// proc
	// tmp
	// usr
	// pid 1
	// /usr is read-only
}
