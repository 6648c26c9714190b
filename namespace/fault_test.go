package namespace_test

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// faultOpts is a spawn with a new user namespace and maps, so that the
// child waits for the parent.
// parentWritesMaps makes Spawn take, until the test ends, a path on which
// the parent writes the child's maps: under -race a child whose maps map
// only the caller's own IDs writes them itself (see choosePath), so force
// the copy; elsewhere the default, a child on its own stack, does.
func parentWritesMaps(t *testing.T) {
	if raceEnabled {
		old := namespace.SetChildPath("copy")
		t.Cleanup(func() { namespace.SetChildPath(old) })
	}
}

func faultOpts() namespace.Options {
	uidMap, gidMap := ownMaps()
	return namespace.Options{Path: "/bin/true", New: namespace.User | namespace.UTS, UIDMap: uidMap, GIDMap: gidMap}
}

// checkFault spawns with opts and checks the error and that nothing stays:
// no child, zombie or descriptor, no new mount.
func checkFault(t *testing.T, opts namespace.Options, want string, is error) {
	t.Helper()
	before := takeCounts(t)
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	p, err := namespace.Spawn(opts)
	if err == nil {
		p.Wait()
		t.Fatalf("Spawn succeeded, want an error containing %q", want)
	}
	if !strings.Contains(err.Error(), want) || (is != nil && !errors.Is(err, is)) {
		t.Errorf("Spawn = %v; want %q, matching %v", err, want, is)
	}
	checkNoLeak(t, before)
	if now, _ := os.ReadFile("/proc/self/mountinfo"); string(now) != string(mounts) {
		t.Error("mounts changed")
	}
}

// TestFaultChildDiesWaitingForMaps kills the child while it waits for its
// maps.
func TestFaultChildDiesWaitingForMaps(t *testing.T) {
	parentWritesMaps(t)
	namespace.SetBeforeMapsTestHook(func(pid int) {
		unix.Kill(pid, unix.SIGKILL)
		// Let it die, so that the map write meets a dead process.
		for range 1000 {
			b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
			if len(b) == 0 || strings.Contains(string(b), ") Z ") {
				return
			}
			unix.Nanosleep(&unix.Timespec{Nsec: 1e6}, nil)
		}
	})
	defer namespace.SetBeforeMapsTestHook(nil)
	checkFault(t, faultOpts(), "the child exited (killed by SIGKILL) before its ID maps were written", nil)
}

// TestFaultMapsWrittenTwice writes the maps before Spawn does: the kernel
// takes a map once, so Spawn's write fails.
func TestFaultMapsWrittenTwice(t *testing.T) {
	parentWritesMaps(t)
	opts := faultOpts()
	namespace.SetBeforeMapsTestHook(func(pid int) {
		if err := idmap.Write(pid, opts.UIDMap, nil, idmap.Auto); err != nil {
			t.Errorf("first write: %v", err)
		}
	})
	defer namespace.SetBeforeMapsTestHook(nil)
	checkFault(t, opts, "write /proc/", os.ErrPermission)
}

// TestFaultSethostname lets a 65-byte host name reach the child, whose
// sethostname fails.
func TestFaultSethostname(t *testing.T) {
	defer namespace.SetMaxNameLen(namespace.SetMaxNameLen(100))
	opts := faultOpts()
	opts.Hostname = strings.Repeat("h", 65)
	checkFault(t, opts, "child sethostname", syscall.EINVAL)
}

// TestFaultMountProc makes the child's proc mount fail: a user namespace may
// mount proc only where /proc is fully visible, and a helper covers
// /proc/sys in a private mount namespace of its own.
func TestFaultMountProc(t *testing.T) {
	if !privileged {
		t.Skip("covering /proc/sys in a helper's mount namespace needs root")
	}
	var out strings.Builder
	p, err := namespace.Spawn(namespace.Options{
		Path: "/proc/self/exe", Args: []string{"namespace.test", "-test.run=^$"},
		Env: withEnv("NSGO_NAMESPACE_HELPER=proc-fault"), New: namespace.Mount,
		Stdout: &out, Stderr: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := p.Wait(); err != nil || !st.Success() || !strings.Contains(out.String(), "proc-fault: ok") {
		t.Errorf("helper: %v %v\n%s", st, err, out.String())
	}
}

func procFaultHelper() error {
	if err := unix.Mount("none", "/proc/sys", "tmpfs", 0, ""); err != nil {
		return err
	}
	opts := namespace.Options{
		Path: "/bin/true", New: namespace.User | namespace.PID | namespace.Mount, MountProc: true,
		UIDMap: idmap.Map{{Inside: 0, Outside: 0, Count: 1}}, GIDMap: idmap.Map{{Inside: 0, Outside: 0, Count: 1}},
	}
	_, err := namespace.Spawn(opts)
	var ce *namespace.ChildError
	if !errors.As(err, &ce) || ce.Step != "mount /proc" || !errors.Is(err, os.ErrPermission) {
		return errors.New("Spawn with /proc/sys covered: " + errString(err))
	}
	return nil
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// TestOutsideIDsNotMapped asks, from a user namespace where only 0 is
// mapped, for a map whose outside ID is 5: refused before any clone.
func TestOutsideIDsNotMapped(t *testing.T) {
	var out strings.Builder
	opts := namespace.Options{
		Path: "/proc/self/exe", Args: []string{"namespace.test", "-test.run=^$"},
		Env: withEnv("NSGO_NAMESPACE_HELPER=nested-map"), New: namespace.User,
		Stdout: &out, Stderr: &out,
	}
	opts.UIDMap, opts.GIDMap = ownMaps()
	p, err := namespace.Spawn(opts)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := p.Wait(); err != nil || !st.Success() || !strings.Contains(out.String(), "nested-map: ok") {
		t.Errorf("helper: %v %v\n%s", st, err, out.String())
	}
}

func nestedMapHelper() error {
	before, _ := os.ReadDir("/proc/self/fd")
	_, err := namespace.Spawn(namespace.Options{
		Path: "/bin/true", New: namespace.User,
		UIDMap: idmap.Map{{Inside: 0, Outside: 5, Count: 1}},
	})
	var re *idmap.RangeError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), `UIDMap: idmap: range 0 "0 5 1": outside IDs 5-5 are not mapped in the caller's user namespace`) {
		return errors.New("map of an unmapped outside ID: " + errString(err))
	}
	if after, _ := os.ReadDir("/proc/self/fd"); len(after) != len(before) {
		return errors.New("descriptors left behind")
	}
	// Its own ID, 0 here, it may map.
	p, err := namespace.Spawn(namespace.Options{Path: "/bin/true", New: namespace.User, UIDMap: idmap.Map{{Inside: 0, Outside: 0, Count: 1}}})
	if err != nil {
		return err
	}
	p.Wait()
	return nil
}

// TestFakeProcInJoinedMount joins a mount namespace whose /proc is a tmpfs
// with decoy files, as a hostile container could make it, and asks for a new
// time namespace with an offset: the child must write the real /proc, which
// it opened before it joined, and the program must see the offset.
func TestFakeProcInJoinedMount(t *testing.T) {
	if !privileged {
		t.Skip("runs the test binary from its build directory, which only root may enter")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := startContainer(t, namespace.Options{New: namespace.Mount})
	// Cover /proc in the target's mount namespace with decoys.
	fake, err := namespace.Join(c.p.Pid, namespace.Mount)
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	err = fake.Do(func() error {
		if err := unix.Mount("none", "/proc", "tmpfs", 0, ""); err != nil {
			return err
		}
		if err := os.MkdirAll("/proc/self/ns", 0o755); err != nil {
			return err
		}
		for _, f := range []string{"/proc/self/timens_offsets", "/proc/self/ns/time_for_children"} {
			if err := os.WriteFile(f, nil, 0o644); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	p, err := fake.Spawn(namespace.Options{
		Path: exe, Args: []string{"namespace.test", "-test.run=^$"},
		Env: withEnv("NSGO_NAMESPACE_HELPER=boottime"),
		New: namespace.Time, BoottimeOffset: 1000 * time.Hour,
		Stdout: &out, Stderr: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := p.Wait(); err != nil || !st.Success() || !strings.Contains(out.String(), "boottime: ok") {
		t.Errorf("program: %v %v\n%s", st, err, out.String())
	}
}

// boottimeHelper checks that CLOCK_BOOTTIME carries the 1000h offset.
func boottimeHelper() error {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return err
	}
	if int64(ts.Sec) < 3600*1000 {
		return errors.New("CLOCK_BOOTTIME is " + strconv.FormatInt(int64(ts.Sec), 10) + "s, without the 1000h offset")
	}
	return nil
}
