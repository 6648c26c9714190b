package namespace_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// TestSpawnFullDescriptorTable: a caller whose descriptor table is full up
// to its RLIMIT_NOFILE but for a few free numbers at the bottom starts a
// program with its own standard input (fd 0, which the child must move off
// target 0): os/exec can, so Spawn must, on every child path. (The child
// once looked for free numbers above the caller's pipes only, and found
// none: "too many open files".)
func TestSpawnFullDescriptorTable(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		for _, free := range []int{3, 6} {
			var lim unix.Rlimit
			if err := unix.Prlimit(0, unix.RLIMIT_NOFILE, nil, &lim); err != nil {
				t.Fatal(err)
			}
			closeHoles := fillFdHoles(t)
			top, _ := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			unix.Close(top)
			// unix.Prlimit, not syscall.Setrlimit, which would stop
			// os/exec from giving its children the original limit.
			low := lim
			low.Cur = uint64(top + 40)
			if err := unix.Prlimit(0, unix.RLIMIT_NOFILE, &low, nil); err != nil {
				t.Fatal(err)
			}
			var fill []int
			for {
				fd, err := unix.Open("/dev/null", unix.O_RDWR|unix.O_CLOEXEC, 0)
				if err != nil {
					break
				}
				fill = append(fill, fd)
			}
			for _, fd := range fill[:free] {
				unix.Close(fd)
			}
			out := os.NewFile(uintptr(fill[free]), "/dev/null") // closed by out.Close
			cmd := exec.Command("/bin/true")
			cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, out, out
			execErr := cmd.Run()
			p, err := namespace.Spawn(namespace.Options{Path: "/bin/true", Stdin: os.Stdin, Stdout: out, Stderr: out})
			if err == nil {
				if st, werr := p.Wait(); werr != nil || !st.Success() {
					t.Errorf("%d free: %v %v", free, st, werr)
				}
			}
			out.Close()
			for _, fd := range fill[free+1:] {
				unix.Close(fd)
			}
			unix.Prlimit(0, unix.RLIMIT_NOFILE, &lim, nil)
			closeHoles()
			if execErr != nil {
				t.Fatalf("%d free: os/exec: %v", free, execErr)
			}
			if err != nil {
				t.Errorf("%d numbers free below the limit: os/exec runs the program, Spawn: %v", free, err)
			}
		}
	})
}

// TestDisableUserNamespacesLowNofile: an RLIMIT_NOFILE in Rlimits at the
// caller's lowest free descriptor number leaves the program its fds 0-2,
// all it needs; with DisableUserNamespaces the child opens /proc files
// after the limits are set, and must still start it (it sets that limit
// last), on every child path.
func TestDisableUserNamespacesLowNofile(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		closeHoles := fillFdHoles(t)
		defer closeHoles()
		low, _ := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		unix.Close(low) // the caller's lowest free number
		uid, gid := ownMaps()
		for _, disable := range []bool{false, true} {
			before := takeCounts(t)
			var out strings.Builder
			p, err := namespace.Spawn(namespace.Options{New: namespace.User, UIDMap: uid, GIDMap: gid, SetGroups: idmap.Deny,
				DisableUserNamespaces: disable, Path: "/bin/sh", Args: []string{"sh", "-c", "ulimit -n; ulimit -H -n"}, Stdout: &out,
				Rlimits: []namespace.Rlimit{{Resource: unix.RLIMIT_NOFILE, Soft: uint64(low), Hard: uint64(low)}}})
			if err != nil {
				if !strings.Contains(err.Error(), ": test: ") {
					t.Errorf("DisableUserNamespaces %v, RLIMIT_NOFILE %d: %v", disable, low, err)
				}
				continue
			}
			if st, err := p.Wait(); err != nil || !st.Success() {
				t.Errorf("DisableUserNamespaces %v: %v %v", disable, st, err)
			}
			if want := fmt.Sprintf("%d\n%d\n", low, low); out.String() != want {
				t.Errorf("DisableUserNamespaces %v: limits %q, want %q", disable, out.String(), want)
			}
			checkNoLeak(t, before)
		}
	})
}

// TestSpawnClosesAbsentTargets: ExtraFiles with one file among many nil
// entries; the caller holds descriptors without close-on-exec on some of
// the nil entries' numbers. The program has its 0-2 and the one file, and
// none of those (the child closes runs of absent targets at once), on every
// path.
func TestSpawnClosesAbsentTargets(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		const n = 64
		const at = 3 + n/2
		null, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(null)
		var planted []int
		for fd := 3 + n - 1; fd >= 3 && len(planted) < 6; fd-- {
			if fd != at && fd != null && !isOpen(fd) {
				if err := unix.Dup3(null, fd, 0); err != nil {
					t.Fatal(err)
				}
				planted = append(planted, fd)
			}
		}
		defer func() {
			for _, fd := range planted {
				unix.Close(fd)
			}
		}()
		if len(planted) == 0 {
			t.Skip("no free descriptor number among the targets")
		}
		f, err := os.Open("/dev/zero")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		extra := make([]*os.File, n)
		extra[at-3] = f
		uid, gid := ownMaps()
		// With a new PID namespace the program's process is the child's
		// second fork, which arranges the descriptors.
		for _, opts := range []namespace.Options{{}, {New: namespace.User | namespace.PID, UIDMap: uid, GIDMap: gid, SetGroups: idmap.Deny}} {
			var out strings.Builder
			opts.Path, opts.Args = "/bin/sh", []string{"sh", "-c", `for f in /proc/self/fd/*; do printf '%s ' "${f##*/}"; done`} // sh expands the glob: its own
			opts.Stdout, opts.ExtraFiles = &out, extra
			p, err := namespace.Spawn(opts)
			if err != nil {
				t.Fatal(err)
			}
			if st, err := p.Wait(); err != nil || !st.Success() {
				t.Fatal(st, err)
			}
			// 3: the directory sh reads the glob from, at the lowest free number.
			if want := fmt.Sprintf("0 1 2 3 %d ", at); out.String() != want {
				t.Errorf("New %s: the program's descriptors %q, want %q (planted without close-on-exec: %v)", opts.New, out.String(), want, planted)
			}
		}
	})
}
