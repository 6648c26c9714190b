package namespace_test

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// TestJoinPIDReuse makes the target exit inside Join and gives its PID to
// another process at once: Join must notice through its pidfd and fail, not
// return the namespaces of the impostor. PIDs are steered with ns_last_pid,
// which needs a PID namespace of the test's own: a helper runs as its first
// process.
func TestJoinPIDReuse(t *testing.T) {
	var out strings.Builder
	opts := namespace.Options{
		Path: "/proc/self/exe", Args: []string{"namespace.test", "-test.run=^$"},
		Env: append(os.Environ(), "NSGO_NAMESPACE_HELPER=pid-reuse"),
		New: namespace.User | namespace.PID | namespace.Mount, MountProc: true,
		Stdout: &out, Stderr: &out,
	}
	opts.UIDMap, opts.GIDMap = ownMaps()
	p, err := namespace.Spawn(opts)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := p.Wait(); err != nil || !st.Success() || !strings.Contains(out.String(), "pid-reuse: ok") {
		t.Errorf("helper: %v %v\n%s", st, err, out.String())
	}
}

// pidReuseHelper runs as process 1 of its own PID namespace.
func pidReuseHelper() error {
	start := func(opts namespace.Options) (*namespace.Process, error) {
		opts.Path, opts.Args = "/bin/sleep", []string{"sleep", "60"}
		return namespace.Spawn(opts)
	}
	victim, err := start(namespace.Options{})
	if err != nil {
		return err
	}
	var impostor *namespace.Process
	var hookErr error
	namespace.SetJoinTestHook(func(pid int) {
		victim.Kill()
		victim.Wait()
		if hookErr = os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(pid-1)), 0); hookErr != nil {
			return
		}
		impostor, hookErr = start(namespace.Options{New: namespace.UTS, Hostname: "impostor"})
		if hookErr == nil && impostor.Pid != pid {
			hookErr = fmt.Errorf("the impostor got PID %d, not %d", impostor.Pid, pid)
		}
	})
	defer namespace.SetJoinTestHook(nil)
	h, err := namespace.Join(victim.Pid, namespace.UTS)
	if impostor != nil {
		defer func() { impostor.Kill(); impostor.Wait() }()
	}
	if hookErr != nil {
		return fmt.Errorf("could not reuse the PID: %w", hookErr)
	}
	if err == nil {
		h.Close()
		return errors.New("Join returned the namespaces of the process that took the PID")
	}
	if !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("Join = %v, want ESRCH", err)
	}
	return nil
}
