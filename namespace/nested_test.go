package namespace_test

import (
	"bufio"
	"os/exec"
	"testing"
	"time"

	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
)

// TestJoinNestedUserNamespaces joins the layout that bwrap --dev and
// Flatpak make: a user namespace inside another, whose pid, mount and uts
// namespaces the outer one owns (unshare -U -r --pid --mount --uts --fork
// unshare -U sleep). Entering kind by kind cannot work for an unprivileged
// caller: before the user namespace it lacks the rights for the rest, and
// after it, in the inner one, it has none over what the outer one owns.
// Handle.Spawn enters through the pidfd in one setns, where the kernel
// checks the rights for all of them at once.
func TestJoinNestedUserNamespaces(t *testing.T) {
	tpid := startUnshare(t, "--user", "--map-root-user", "--pid", "--mount", "--uts", "unshare", "--user")
	h, err := namespace.Join(tpid, namespace.All)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	want, err := procfs.Namespaces(tpid)
	if err != nil {
		t.Fatal(err)
	}
	before := takeCounts(t)
	for _, path := range []string{"vfork", "copy"} {
		namespace.SetChildPath(path)
		p, err := h.Spawn(namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "100"}})
		namespace.SetChildPath("")
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		got, err := procfs.Namespaces(p.Pid)
		p.Kill()
		p.Wait()
		if err != nil {
			t.Fatal(err)
		}
		for k, id := range want {
			if got[k] != id {
				t.Errorf("%s: the program's %s namespace is %v, the target's %v", path, k, got[k], id)
			}
		}
	}
	checkNoLeak(t, before)
}

// TestJoinPidfdProcessMoved joins a process that then moves to a new uts
// namespace: Handle.Spawn, whose one setns through the pidfd would follow
// it there, must find that out and start the program in the namespaces the
// handle pinned.
func TestJoinPidfdProcessMoved(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("util-linux unshare not installed:", err)
	}
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--uts",
		"sh", "-c", "echo ready; read x; exec unshare --uts sleep 1000")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if line, err := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
		t.Fatalf("target: %q %v", line, err)
	}
	h, err := namespace.Join(cmd.Process.Pid, namespace.User|namespace.UTS)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	pinned := h.IDs()[namespace.UTS]
	in.Write([]byte("move\n"))
	for start := time.Now(); ; time.Sleep(5 * time.Millisecond) {
		now, err := procfs.Namespaces(cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		if now[namespace.UTS] != pinned {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("the target did not move to a new uts namespace")
		}
	}
	before := takeCounts(t)
	p, err := h.Spawn(namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "100"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := procfs.Namespaces(p.Pid)
	p.Kill()
	p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got[namespace.UTS] != pinned {
		t.Errorf("the program is in uts namespace %v, not the pinned %v", got[namespace.UTS], pinned)
	}
	checkNoLeak(t, before)
}
