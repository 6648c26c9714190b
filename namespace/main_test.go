package namespace_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The runtime makes its poller's descriptors on first use of a pipe:
	// have them before any test counts descriptors.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	// The test binary re-runs itself as a helper inside namespaces that a
	// test made for it.
	helpers := map[string]func() error{
		"bind": bindHelper, "pid-reuse": pidReuseHelper,
		"subid-setup": subidSetupHelper, "subid-run": subidRunHelper,
		"proc-fault": procFaultHelper, "nested-map": nestedMapHelper,
		"boottime": boottimeHelper, "one-p": onePHelper,
		"pdeath": pdeathHelper, "blockfd-one-p": blockFDOnePHelper,
	}
	if name := os.Getenv("NSGO_NAMESPACE_HELPER"); name != "" {
		if err := helpers[name](); err != nil {
			fmt.Printf("%s: %v\n", name, err)
			os.Exit(1)
		}
		fmt.Printf("%s: ok\n", name)
		os.Exit(0)
	}
	// The thread that clones programs with a ParentDeathSignal lives as
	// long as the process, by design.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/nsgo/nsgo/namespace.serveSpawnThread"))
}

var privileged = os.Getuid() == 0

// ownMaps returns the maps an unprivileged caller can write: its own IDs to 0.
func ownMaps() (uid, gid idmap.Map) {
	return idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}},
		idmap.Map{{Inside: 0, Outside: uint32(os.Getgid()), Count: 1}}
}

// rootMaps returns the maps that a container runtime running as root writes:
// 65536 IDs shifted to 100000. Unprivileged callers get ownMaps.
func rootMaps() (uid, gid idmap.Map) {
	if !privileged {
		return ownMaps()
	}
	return idmap.Map{rng(0, 100000, 65536)}, idmap.Map{rng(0, 100000, 65536)}
}

// run spawns a shell script with opts and returns its combined output; it
// fails the test unless the script exits 0.
func run(t *testing.T, opts namespace.Options, script string) string {
	t.Helper()
	var out bytes.Buffer
	opts.Path = "/bin/sh"
	opts.Args = []string{"sh", "-c", script}
	opts.Stdout, opts.Stderr = &out, &out
	p, err := namespace.Spawn(opts)
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait()
	if err != nil || !st.Success() {
		t.Fatalf("script %q: %v %v\n%s", script, st, err, out.String())
	}
	return out.String()
}

// counts are what a process holds that a spawn must give back.
type counts struct{ fds, threads, children int }

func takeCounts(t *testing.T) counts {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	// The descriptors that Do keeps on threads' directories are counted
	// apart: TestDoKeepsThreadDirs bounds them.
	kept := len(namespace.KeptThreadDirs())
	return counts{fds: len(fds) - kept, threads: len(tasks), children: len(children(t))}
}

// children lists the PIDs whose parent is this process, zombies included.
func children(t *testing.T) []int {
	t.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	self := strconv.Itoa(os.Getpid())
	var out []int
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // gone meanwhile
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == self {
			pid, _ := strconv.Atoi(strings.Split(f, "/")[2])
			out = append(out, pid)
		}
	}
	return out
}

// checkNoLeak fails if fds or children grew since before, or threads by more
// than the runtime may add for blocked system calls.
func checkNoLeak(t *testing.T, before counts) { checkNoLeakThreads(t, before, 4) }

// checkNoLeakThreads is checkNoLeak for calls from several goroutines at
// once: the runtime keeps a thread for each system call that blocked while
// others ran, and threads may grow by up to slack.
func checkNoLeakThreads(t *testing.T, before counts, slack int) {
	t.Helper()
	after := takeCounts(t)
	if after.fds != before.fds || after.children != before.children || after.threads > before.threads+slack {
		t.Errorf("leak: before %+v, after %+v; children now %v; fds now %v", before, after, children(t), fdTargets())
	}
}

// fdTargets lists this process's descriptors and what they are.
func fdTargets() []string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var out []string
	for _, e := range ents {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		out = append(out, e.Name()+"="+target)
	}
	return out
}

func rng(inside, outside, count uint32) idmap.Range {
	return idmap.Range{Inside: inside, Outside: outside, Count: count}
}

// goTool runs the go command with args and returns its standard output.
func goTool(t *testing.T, gocmd string, args ...string) string {
	t.Helper()
	cmd := exec.Command(gocmd, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// unshareNet returns a handle on a new network namespace, closed when the
// test ends; it skips the test without CAP_SYS_ADMIN, which Unshare and Do
// need.
func unshareNet(t testing.TB) *namespace.Handle {
	t.Helper()
	if !privileged {
		t.Skip("Unshare and Do need CAP_SYS_ADMIN")
	}
	h, err := namespace.Unshare(namespace.Net)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// inOwnMountNS runs the calling test in a mount namespace of its own, for a
// test that must mount in its caller's namespace: other packages' tests,
// which go test runs at the same time, compare the host's mountinfo before
// and after. The first call re-runs the test binary with only this test, as
// a child in a new mount namespace (private: nothing reaches the host),
// reports its outcome and returns false, and the caller returns. In that
// re-run it returns true.
func inOwnMountNS(t *testing.T) bool {
	t.Helper()
	if os.Getenv("NSGO_OWN_MNTNS") == t.Name() {
		return true
	}
	args := []string{"namespace.test", "-test.run=^" + regexp.QuoteMeta(t.Name()) + "$", "-test.v", "-test.count=1"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	var out strings.Builder
	p, err := namespace.Spawn(namespace.Options{
		Path: "/proc/self/exe", Args: args,
		Env: append(os.Environ(), "NSGO_OWN_MNTNS="+t.Name(), "NSGO_NO_REEXEC=1"),
		New: namespace.Mount, Stdout: &out, Stderr: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait()
	switch {
	case err != nil || !st.Success():
		t.Fatalf("%s in a mount namespace of its own: %v %v\n%s", t.Name(), st, err, out.String())
	case strings.Contains(out.String(), "--- SKIP: "+t.Name()):
		t.Skipf("in a mount namespace of its own:\n%s", out.String())
	case !strings.Contains(out.String(), "--- PASS: "+t.Name()):
		t.Fatalf("%s did not run in a mount namespace of its own:\n%s", t.Name(), out.String())
	}
	t.Logf("ran in a mount namespace of its own:\n%s", out.String())
	return false
}

// wantSpawnError spawns with opts, which must fail with an error holding
// want, and leave nothing behind.
func wantSpawnError(t *testing.T, opts namespace.Options, want string) {
	t.Helper()
	before := takeCounts(t)
	p, err := namespace.Spawn(opts)
	if err == nil {
		p.Wait()
		t.Errorf("%+v: no error", opts)
	} else if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want %q", err, want)
	}
	checkNoLeak(t, before)
}

// spawnError spawns with opts, which must fail, and returns the error; or
// nil, after reporting a spawn that worked (name says which case), or when
// the forced child path cannot make the combination (": test: "): the
// caller then goes on to its next case.
func spawnError(t *testing.T, name string, opts namespace.Options) error {
	t.Helper()
	p, err := namespace.Spawn(opts)
	switch {
	case err == nil:
		p.Wait()
		t.Errorf("%s: no error", name)
		return nil
	case strings.Contains(err.Error(), ": test: "):
		return nil // a combination this child path cannot make
	}
	return err
}
