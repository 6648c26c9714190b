package namespace_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// pidContainer is a shell in new PID and mount namespaces (and a user
// namespace for an unprivileged caller) that started a sleep, and a sleep in
// a PID namespace nested in its own (where it is 1), and printed their
// numbers as it sees them.
type pidContainer struct {
	p      *namespace.Process
	sleep  int // the sleep's PID inside the container
	nested int // the nested sleep's PID inside the container
}

const pidScript = `sleep 1000 &
s=$!
unshare --pid --fork --mount-proc sleep 1000 &
until n=$(cat /proc/$!/task/$!/children) && [ -n "$n" ]; do sleep 0.01; done
echo "$s $n"
exec sleep 1000
`

func startPIDContainer(t testing.TB) *pidContainer {
	t.Helper()
	opts := namespace.Options{
		Path: "/bin/sh", Args: []string{"sh", "-c", pidScript},
		New: namespace.PID | namespace.Mount, MountProc: true,
	}
	if !privileged {
		opts.New |= namespace.User
		opts.UIDMap, opts.GIDMap = ownMaps()
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	opts.Stdout, opts.Stderr = pw, pw
	p, err := namespace.Spawn(opts)
	pw.Close()
	if err != nil {
		pr.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		p.Wait()
		pr.Close()
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	var c pidContainer
	c.p = p
	if n, _ := fmt.Sscan(line, &c.sleep, &c.nested); n != 2 {
		rest, _ := io.ReadAll(pr)
		t.Fatalf("container printed %q %v %s", line, err, rest)
	}
	return &c
}

// hostPIDOf finds, among the descendants of pid, the process whose NSpid
// has inner at level 1: what the test knows without nsgo.
func hostPIDOf(t testing.TB, pid, inner int) int {
	t.Helper()
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(strings.TrimPrefix(line, "NSpid:")); strings.HasPrefix(line, "NSpid:") && len(f) > 1 && f[1] == strconv.Itoa(inner) {
				return p
			}
		}
		kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", p, p))
		for _, k := range strings.Fields(string(kids)) {
			n, _ := strconv.Atoi(k)
			queue = append(queue, n)
		}
	}
	t.Fatalf("no descendant of %d is %d inside", pid, inner)
	return 0
}

// TestPIDs translates PIDs into and out of a container's PID namespace, by
// the ioctls and by NSpid, and checks both against what the container
// printed: its init, a child, a process in a namespace nested in it, a
// sibling container's process (not in it), the caller (not in it).
func TestPIDs(t *testing.T) {
	c := startPIDContainer(t)
	sibling := startPIDContainer(t)
	h, err := namespace.Join(c.p.Pid, namespace.PID)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	self, err := namespace.Current(namespace.PID)
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	sleepHost := hostPIDOf(t, c.p.Pid, c.sleep)
	nestedHost := hostPIDOf(t, c.p.Pid, c.nested)
	nested, err := namespace.Join(nestedHost, namespace.PID)
	if err != nil {
		t.Fatal(err)
	}
	defer nested.Close()

	before := takeCounts(t)
	for _, fallback := range []bool{false, true} {
		old := namespace.SetPIDsFallback(fallback)
		name := map[bool]string{false: "ioctl", true: "NSpid"}[fallback]
		if !fallback {
			h.PIDInside(c.p.Pid)
			if !namespace.PIDIoctlSupported() {
				t.Log("this kernel lacks the ioctls: both runs read NSpid")
			}
		}
		for _, tc := range []struct{ outside, inside int }{
			{c.p.Pid, 1}, {sleepHost, c.sleep}, {nestedHost, c.nested},
		} {
			if got, err := h.PIDInside(tc.outside); got != tc.inside || err != nil {
				t.Errorf("%s: PIDInside(%d) = %d, %v; want %d", name, tc.outside, got, err, tc.inside)
			}
			if got, err := h.PIDOutside(tc.inside); got != tc.outside || err != nil {
				t.Errorf("%s: PIDOutside(%d) = %d, %v; want %d", name, tc.inside, got, err, tc.outside)
			}
			if got, err := self.PIDInside(tc.outside); got != tc.outside || err != nil {
				t.Errorf("%s: PIDInside(%d) of the caller's namespace = %d, %v", name, tc.outside, got, err)
			}
			if got, err := self.PIDOutside(tc.outside); got != tc.outside || err != nil {
				t.Errorf("%s: PIDOutside(%d) of the caller's namespace = %d, %v", name, tc.outside, got, err)
			}
		}
		// Two levels down, where the nested sleep is init.
		if got, err := nested.PIDInside(nestedHost); got != 1 || err != nil {
			t.Errorf("%s: PIDInside(%d) of the nested namespace = %d, %v; want 1", name, nestedHost, got, err)
		}
		if got, err := nested.PIDOutside(1); got != nestedHost || err != nil {
			t.Errorf("%s: PIDOutside(1) of the nested namespace = %d, %v; want %d", name, got, err, nestedHost)
		}
		for _, pid := range []int{os.Getpid(), c.p.Pid, sleepHost} {
			if got, err := nested.PIDInside(pid); !errors.Is(err, unix.ESRCH) {
				t.Errorf("%s: PIDInside(%d) of the nested namespace, not in it = %d, %v; want ESRCH", name, pid, got, err)
			}
		}
		for _, pid := range []int{os.Getpid(), sibling.p.Pid, hostPIDOf(t, sibling.p.Pid, sibling.sleep)} {
			if got, err := h.PIDInside(pid); !errors.Is(err, unix.ESRCH) || !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: PIDInside(%d), not in the namespace = %d, %v; want ESRCH", name, pid, got, err)
			}
		}
		for _, pid := range []int{c.sleep + 10000, 1 << 22} {
			if got, err := h.PIDOutside(pid); !errors.Is(err, unix.ESRCH) {
				t.Errorf("%s: PIDOutside(%d), no such process = %d, %v; want ESRCH", name, pid, got, err)
			}
		}
		if _, err := h.PIDInside(0); !errors.Is(err, os.ErrInvalid) {
			t.Errorf("%s: PIDInside(0) = %v, want os.ErrInvalid", name, err)
		}
		namespace.SetPIDsFallback(old)
	}
	checkNoLeak(t, before)

	// A handle without PID, and a closed one.
	hu, err := namespace.Join(c.p.Pid, namespace.Mount)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hu.PIDInside(c.p.Pid); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("PIDInside of a handle without PID = %v, want os.ErrInvalid", err)
	}
	hu.Close()
	if _, err := hu.PIDOutside(1); !errors.Is(err, os.ErrClosed) {
		t.Errorf("PIDOutside of a closed handle = %v, want os.ErrClosed", err)
	}
}

// BenchmarkPIDs translates a container's child's PID each way, by the
// ioctls and by NSpid.
func BenchmarkPIDs(b *testing.B) {
	c := startPIDContainer(b)
	h, err := namespace.Join(c.p.Pid, namespace.PID)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	outside := hostPIDOf(b, c.p.Pid, c.sleep)
	for _, fallback := range []bool{false, true} {
		name := map[bool]string{false: "ioctl", true: "NSpid"}[fallback]
		b.Run(name+"/inside", func(b *testing.B) {
			defer namespace.SetPIDsFallback(namespace.SetPIDsFallback(fallback))
			for b.Loop() {
				if n, err := h.PIDInside(outside); n != c.sleep || err != nil {
					b.Fatal(n, err)
				}
			}
		})
		b.Run(name+"/outside", func(b *testing.B) {
			defer namespace.SetPIDsFallback(namespace.SetPIDsFallback(fallback))
			for b.Loop() {
				if n, err := h.PIDOutside(c.sleep); n != outside || err != nil {
					b.Fatal(n, err)
				}
			}
		})
	}
}

// TestPIDsWithoutIoctl refuses the ioctls on the caller's thread, as a
// kernel before Linux 6.11 does: the answers come from NSpid, the same.
func TestPIDsWithoutIoctl(t *testing.T) {
	c := startPIDContainer(t)
	h, err := namespace.Join(c.p.Pid, namespace.PID)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	outside := hostPIDOf(t, c.p.Pid, c.sleep)
	if _, err := h.PIDInside(outside); err != nil {
		t.Fatal(err)
	}
	if !namespace.PIDIoctlSupported() && kernelAtLeast(t, 6, 11) {
		t.Fatal("Linux 6.11 or later, and the ioctls were not found")
	}
	before := takeCounts(t)
	for _, req := range []uint32{unix.NS_GET_PID_IN_PIDNS, unix.NS_GET_PID_FROM_PIDNS} {
		onFilteredThread(t, syscallRule{nr: unix.SYS_IOCTL, req: req, errno: unix.ENOTTY}, func() {
			if n, err := h.PIDInside(outside); n != c.sleep || err != nil {
				t.Errorf("ioctl %#x refused: PIDInside(%d) = %d, %v; want %d", req, outside, n, err, c.sleep)
			}
			if n, err := h.PIDOutside(c.sleep); n != outside || err != nil {
				t.Errorf("ioctl %#x refused: PIDOutside(%d) = %d, %v; want %d", req, c.sleep, n, err, outside)
			}
			if namespace.PIDIoctlSupported() {
				t.Errorf("ioctl %#x refused, and found", req)
			}
		})
	}
	checkNoLeak(t, before)
}

// ExampleHandle_PIDInside translates PIDs between the host and a
// container.
func ExampleHandle_PIDInside() {
	h, err := namespace.Join(4242, namespace.PID) // the container's init, on the host
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()
	inside, err := h.PIDInside(4242) // 1: it is the container's init
	fmt.Println(inside, err)
	outside, err := h.PIDOutside(1) // 4242
	fmt.Println(outside, err)
}
