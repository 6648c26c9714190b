package main

import (
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

// TestMain runs the demo's child when the demo re-executes this binary, and
// the demo itself when a test does (demoCommand).
func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		child(os.Stdout, mode)
		os.Exit(0)
	}
	if os.Getenv("NSGO_JOIN_DEMO") == "1" {
		os.Args = append([]string{"join"}, strings.Fields(os.Getenv("NSGO_JOIN_ARGS"))...)
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// demo runs the program, this binary as main, with args, as uid 65534 if
// nobody is set (through setpriv when the test runs as root), and returns
// its standard output and error as one stream, and its exit status.
func demo(t *testing.T, nobody bool, args ...string) (string, int) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var cmd *exec.Cmd
	if nobody && os.Getuid() == 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skip("running as uid 65534 needs setpriv (util-linux):", err)
		}
		// A copy that uid 65534 may run: go test's own directory is
		// root's alone.
		dir, err := os.MkdirTemp("", "nsgo-join-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		bin, err := os.ReadFile(self)
		if err == nil {
			err = os.Chmod(dir, 0o755)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "join"), bin, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
		cmd = exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", filepath.Join(dir, "join"))
		cmd.Dir = dir
		cmd.Env = os.Environ()
		if os.Getenv("GOCOVERDIR") != "" {
			// A -cover binary writes its counters there at exit, or
			// complains on stderr: give uid 65534 a directory of its
			// own, thrown away with dir.
			cover := filepath.Join(dir, "cover")
			if err := os.Mkdir(cover, 0o777); err != nil || os.Chmod(cover, 0o777) != nil {
				t.Fatal(err)
			}
			cmd.Env = append(cmd.Env, "GOCOVERDIR="+cover)
		}
	} else {
		cmd = exec.Command(self)
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "NSGO_JOIN_DEMO=1", "NSGO_JOIN_ARGS="+strings.Join(args, " "))
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// container starts what the clone demo starts, with sleep for a shell.
func container(t *testing.T) *namespace.Process {
	t.Helper()
	p, err := namespace.Spawn(namespace.Options{
		Path: "/bin/sleep", Args: []string{"sleep", "60"},
		New:      namespace.UTS | namespace.User | namespace.PID | namespace.IPC | namespace.Net | namespace.Mount,
		UIDMap:   idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}},
		GIDMap:   idmap.Map{{Inside: 0, Outside: uint32(os.Getgid()), Count: 1}},
		Hostname: "container", MountProc: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill(); p.Wait() })
	return p
}

func TestUsage(t *testing.T) {
	var out, errOut strings.Builder
	if code := run(nil, &out, &errOut); code != 0 || out.String() != "usage: join [-stay] PID\n" {
		t.Errorf("exit %d, %q %q", code, out.String(), errOut.String())
	}
}

// TestUsageErrors checks that the program exits 2 on a usage error, as
// programs using the flag package do, and says what was wrong; and that with
// no argument, or -h, it shows its usage and exits 0.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 0, "usage: join [-stay] PID\n"},
		{[]string{"-h"}, 0, "usage: join [-stay] PID\n"},
		{[]string{"-bogus", "1"}, 2, "flag provided but not defined: -bogus\n"},
		{[]string{"abc"}, 2, "join: not a PID: \"abc\"\n"},
		{[]string{"0"}, 2, "join: not a PID: \"0\"\n"},
		{[]string{"1", "2"}, 2, "join: one PID, not 2 arguments\n"},
	} {
		out, code := demo(t, false, tc.args...)
		if code != tc.code || !strings.HasPrefix(out, tc.want) {
			t.Errorf("join %q: exit %d with:\n%s\nwant exit %d, starting %q", tc.args, code, out, tc.code, tc.want)
		}
		if tc.code == 2 && !strings.Contains(out, "usage: join [-stay] PID\n") {
			t.Errorf("join %q: no usage line:\n%s", tc.args, out)
		}
	}
}

// failsUnder checks that out is the demo's output up to the header of kind
// and a line after it that names kind and says permission was refused, and
// nothing more: the error shows where the C demo's would, and ends it.
func failsUnder(t *testing.T, out string, code int, kind, errKind string) {
	t.Helper()
	header := "---- setns for " + kind + " ----\n"
	i := strings.Index(out, header)
	if code != 1 || i < 0 {
		t.Fatalf("exit %d, want 1, and the %s header in:\n%s", code, kind, out)
	}
	rest := out[i+len(header):]
	re := regexp.MustCompile(`\A[^\n]*\b` + errKind + `\b[^\n]*(permission denied|operation not permitted)\n\z`)
	if !re.MatchString(rest) || strings.Count(out, "---- setns") != strings.Count(out[:i+len(header)], "---- setns") {
		t.Errorf("want the %s error as the one line after its header:\n%s", kind, out)
	}
}

// TestErrorUnderHeaderOfInit runs the program as uid 65534 against process
// 1, whose namespace files it may not open: the first kind fails.
func TestErrorUnderHeaderOfInit(t *testing.T) {
	if os.Getuid() != 0 && os.Getuid() != 65534 {
		t.Skip("needs uid 0 (to become 65534) or 65534")
	}
	out, code := demo(t, true, "1")
	failsUnder(t, out, code, "uts", "uts")
}

// TestErrorUnderHeaderOfKind runs the program as uid 65534 against a process
// of its own uid in net and mount namespaces that root made: it may open
// them but not enter them, and the first it cannot enter is net, after uts,
// user, pid and ipc, which are its own.
func TestErrorUnderHeaderOfKind(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to make namespaces that uid 65534 cannot enter")
	}
	p, err := namespace.Spawn(namespace.Options{
		Path: "/bin/sleep", Args: []string{"sleep", "60"},
		New:        namespace.Net | namespace.Mount,
		Credential: &namespace.Credential{UID: 65534, GID: 65534},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill(); p.Wait() })
	out, code := demo(t, true, strconv.Itoa(p.Pid))
	failsUnder(t, out, code, "net", "net")
	if !strings.Contains(out, "---- setns for ipc ----\npid : ") {
		t.Errorf("no identity after the ipc header:\n%s", out)
	}
}

func TestJoinDemo(t *testing.T) {
	target := container(t)
	var out, errOut strings.Builder
	if code := run([]string{strconv.Itoa(target.Pid)}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d:\n%s\n%s", code, out.String(), errOut.String())
	}
	text := out.String()
	host, _ := os.Hostname()

	// The child's block and the parent's last line go to one writer from two
	// processes, in either order.
	childBlock := regexp.MustCompile(`\*{8}\nin child process\npid : ([0-9]+)\nuid : 0\ngid : 0\nhostname : container\n\*{8}\n`)
	m := childBlock.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no child block in:\n%s", text)
	}
	if pid, _ := strconv.Atoi(m[1]); pid < 2 {
		t.Errorf("child pid inside %d: the container's sleep is 1", pid)
	}
	text = strings.Replace(text, m[0], "", 1)
	if !regexp.MustCompile(`(?m)^child pid : [1-9][0-9]*\n\z`).MatchString(text) {
		t.Errorf("no final child pid line:\n%s", text)
	}

	wantStart := "pid : " + strconv.Itoa(os.Getpid()) + "\nuid : " + strconv.Itoa(os.Getuid()) +
		"\ngid : " + strconv.Itoa(os.Getgid()) + "\nhostname : " + host + "\n---- setns for uts ----\n"
	if !strings.HasPrefix(text, wantStart) {
		t.Errorf("start:\n%s\nwant:\n%s", text, wantStart)
	}
	last := -1
	for _, h := range []string{"uts", "user", "pid", "ipc", "net", "mount"} {
		i := strings.Index(text, "---- setns for "+h+" ----\n")
		if i <= last {
			t.Errorf("header %s missing or out of order", h)
		}
		last = i
	}
	afterUTS := text[strings.Index(text, "---- setns for uts ----\n"):]
	if os.Getuid() == 0 {
		if !strings.Contains(afterUTS, "hostname : container\n---- setns for user") {
			t.Errorf("the joined thread does not see the container's host name:\n%s", afterUTS)
		}
	} else if !strings.Contains(afterUTS, "this thread cannot: join pid") {
		t.Errorf("unprivileged: no explanation for the thread:\n%s", afterUTS)
	}
}
