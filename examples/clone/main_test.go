package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// TestMain runs the demo itself when the test re-executes its own binary.
func TestMain(m *testing.M) {
	if os.Getenv("NSGO_CLONE_DEMO") == "1" {
		os.Args = []string{"clone"}
		if a := os.Getenv("NSGO_CLONE_ARGS"); a != "" {
			os.Args = append(os.Args, strings.Split(a, "\x1f")...)
		}
		main()
	}
	goleak.VerifyTestMain(m)
}

func demo(t *testing.T, stdin string, args ...string) (string, int) {
	t.Helper()
	return demoEnv(t, os.Getenv("TERM"), stdin, args...)
}

// demoEnv runs the demo with TERM set to term in its environment, or unset
// if term is empty.
func demoEnv(t *testing.T, term, stdin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TERM=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if term != "" {
		cmd.Env = append(cmd.Env, "TERM="+term)
	}
	cmd.Env = append(cmd.Env, "NSGO_CLONE_DEMO=1", "NSGO_CLONE_ARGS="+strings.Join(args, "\x1f"))
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// TestDemo runs the default demo with commands on standard input, as a user
// would type them, and checks the lines of the C demo and what the shell saw.
func TestDemo(t *testing.T) {
	if _, err := os.Stat("/bin/bash"); err != nil {
		t.Skip("the demo runs /bin/bash:", err)
	}
	host, _ := os.Hostname()
	out, code := demo(t, "hostname container; hostname; echo pid=$$; id -u\n")
	if code != 0 || parentLines(out) != "container\npid=1\n0\nchild has terminated\n" {
		t.Errorf("demo exited %d with:\n%s", code, out)
	}
	if now, _ := os.Hostname(); now != host {
		t.Errorf("host name changed from %q to %q", host, now)
	}
}

func TestDemoFlags(t *testing.T) {
	out, code := demo(t, "", "-ns", "user,uts,pid,mnt", "-hostname", "box", "-mount-proc", "/bin/sh", "-c", "hostname; cat /proc/1/comm")
	if code != 0 || parentLines(out) != "box\nsh\nchild has terminated\n" {
		t.Errorf("demo exited %d with:\n%s", code, out)
	}
	out, code = demo(t, "", "-ns", "bogus")
	if code != 1 || !strings.Contains(out, `unknown kind "bogus"`) {
		t.Errorf("bad kind: exit %d, %q", code, out)
	}
	out, code = demo(t, "", "/nonexistent")
	if code != 1 || !strings.Contains(out, "clone: spawn /nonexistent: child execve: no such file or directory") {
		t.Errorf("missing command: exit %d, %q", code, out)
	}
}

// parentLines checks that out has one "clone() returned PID" line and returns
// out without it: the shell writes to the same terminal as the demo, so its
// lines may come before or after that one, as in the C demo.
func parentLines(out string) string {
	re := regexp.MustCompile(`(?m)^clone\(\) returned [1-9][0-9]*\n`)
	if len(re.FindAllString(out, -1)) != 1 {
		return "no single clone() line in:\n" + out
	}
	return re.ReplaceAllString(out, "")
}

// TestEnvironment checks that bash gets PATH, TERM and HOME, and nothing else
// of the caller's environment: a PATH that finds commands, the caller's TERM
// or "dumb", and a HOME that cd can enter.
func TestEnvironment(t *testing.T) {
	if _, err := os.Stat("/bin/bash"); err != nil {
		t.Skip("the demo runs /bin/bash:", err)
	}
	// Root inside may enter /root exactly when the caller may: the user
	// namespace maps it to the caller.
	home := "/"
	if unix.Access("/root", unix.X_OK) == nil {
		home = "/root"
	}
	const script = "env | grep -v -e ^PWD= -e ^SHLVL= -e ^_= | sort; cd && echo cd=$(pwd); command -v id\n"
	for _, term := range []string{"vt100", ""} {
		out, code := demoEnv(t, term, script)
		wantTerm := term
		if term == "" {
			wantTerm = "dumb"
		}
		want := "HOME=" + home + "\nPATH=" + defaultPath + "\nTERM=" + wantTerm + "\ncd=" + home + "\n/usr/bin/id\nchild has terminated\n"
		if code != 0 || parentLines(out) != want {
			t.Errorf("TERM=%q: exit %d with:\n%s\nwant:\n%s", term, code, out, want)
		}
	}
}

// TestExitStatus checks that the demo exits as its command did, after the
// C demo's two lines: with the command's exit status, or 128 plus the number
// of the signal that killed it.
func TestExitStatus(t *testing.T) {
	out, code := demo(t, "", "/bin/sh", "-c", "exit 3")
	if code != 3 || parentLines(out) != "child has terminated\n" {
		t.Errorf("exit 3: demo exited %d with:\n%s", code, out)
	}
	// Without a new PID namespace: its first process ignores the signals it
	// has no handler for, even SIGTERM and SIGKILL sent from inside.
	out, code = demo(t, "", "-ns", "user,uts", "/bin/sh", "-c", "kill -TERM $$")
	if code != 128+int(unix.SIGTERM) || parentLines(out) != "child has terminated\n" {
		t.Errorf("SIGTERM: demo exited %d with:\n%s", code, out)
	}
}

// testPty opens a new pseudo-terminal pair for the demo to run on.
func testPty(t *testing.T) (master, replica *os.File) {
	t.Helper()
	pty, err := openPty()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pty.master.Close(); pty.replica.Close() })
	return pty.master, pty.replica
}

// TestDemoJobControl runs the demo on a terminal, as a user would: one that
// is the controlling terminal of the demo's session (a login), and one that
// is not (a terminal given as standard input only, as some harnesses do),
// and types commands that need job control into its shell, which is process
// 1 of its PID namespace. With -pty=false, the demo's shell on the second
// terminal has no job control: the control that shows the test bites.
func TestDemoJobControl(t *testing.T) {
	if _, err := os.Stat("/bin/bash"); err != nil {
		t.Skip("the demo runs /bin/bash:", err)
	}
	const script = "echo st''art\n" +
		"echo flags=$-; set -m; sleep 100 & jobs; [ \"$(ps -o pgid= -p $!)\" -eq $! ] && echo own-group; kill %1; wait; ps -o pid=,sid= -p $$; echo fin''ished\n"
	for _, c := range []struct {
		name     string
		login    bool
		args     []string
		jobs     bool
		noJobMsg bool
	}{
		{"login terminal", true, []string{"-mount-proc"}, true, false},
		{"terminal on standard input only", false, []string{"-mount-proc"}, true, false},
		{"terminal on standard input only, -pty=false", false, []string{"-mount-proc", "-pty=false"}, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			master, replica := testPty(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0])
			cmd.Env = append(os.Environ(), "NSGO_CLONE_DEMO=1", "NSGO_CLONE_ARGS="+strings.Join(c.args, "\x1f"))
			cmd.Stdin, cmd.Stdout, cmd.Stderr = replica, replica, replica
			if c.login {
				cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			replica.Close()
			var mu sync.Mutex
			var out strings.Builder
			go func() {
				b := make([]byte, 4096)
				for {
					n, err := master.Read(b)
					mu.Lock()
					out.Write(b[:n])
					mu.Unlock()
					if err != nil {
						return
					}
				}
			}()
			text := func() string {
				mu.Lock()
				defer mu.Unlock()
				return strings.ReplaceAll(out.String(), "\r", "")
			}
			await := func(s string) bool {
				for ctx.Err() == nil {
					if strings.Contains(text(), s) {
						return true
					}
					time.Sleep(10 * time.Millisecond)
				}
				t.Errorf("no %q in:\n%s", s, text())
				return false
			}
			if await("clone() returned ") {
				master.WriteString(script)
				if await("finished\n") {
					master.WriteString("exit\n")
					await("child has terminated\n")
				}
			}
			err := cmd.Wait()
			got := text()
			if err != nil {
				t.Errorf("demo: %v\n%s", err, got)
			}
			jobs := strings.Contains(got, "[1]+  Running") && strings.Contains(got, "own-group\n") &&
				regexp.MustCompile(`flags=[a-zA-Z]*m[a-zA-Z]*\n`).MatchString(got) &&
				regexp.MustCompile(`\n *1 +1 *\n`).MatchString(got) // bash: PID 1, its session's leader
			noJobMsg := strings.Contains(got, "no job control") || strings.Contains(strings.ToLower(got), "cannot set")
			if jobs != c.jobs || noJobMsg != c.noJobMsg {
				t.Errorf("job control %v (want %v), complaint %v (want %v), in:\n%s", jobs, c.jobs, noJobMsg, c.noJobMsg, got)
			}
		})
	}
}

// TestDemoTerminal runs a command that opens no terminal itself on the
// demo's terminal: its controlling terminal is the new pty all the same,
// and its group the foreground one.
func TestDemoTerminal(t *testing.T) {
	master, replica := testPty(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), "NSGO_CLONE_DEMO=1", "NSGO_CLONE_ARGS="+strings.Join([]string{"-mount-proc", "/bin/sh", "-c", "ps -o pid=,sid=,tpgid=,tty= -p 1"}, "\x1f"))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = replica, replica, replica
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	replica.Close()
	out, _ := io.ReadAll(master) // until EIO, when the demo has exited
	err := cmd.Wait()
	got := strings.ReplaceAll(string(out), "\r", "")
	if err != nil || !regexp.MustCompile(`\n *1 +1 +1 +pts/[0-9]+ *\nchild has terminated\n$`).MatchString(got) {
		t.Errorf("demo: %v, output:\n%s\nwant the command as PID 1, leader of its session, in the foreground of a pty", err, got)
	}
}

// minimalRoot makes a directory holding /bin/sh and the shared libraries
// that ldd(1) lists for it, and nothing else: a root for -root.
func minimalRoot(t *testing.T) string {
	t.Helper()
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Skip("no /bin/sh:", err)
	}
	out, err := exec.Command("ldd", sh).Output()
	if err != nil {
		t.Skip("ldd /bin/sh:", err)
	}
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	copyTo := func(src, dst string) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(dst)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, dst), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyTo(sh, "/bin/sh")
	for _, line := range strings.Split(string(out), "\n") {
		// "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
		// "/lib64/ld-linux-x86-64.so.2 (0x...)"
		for _, f := range strings.Fields(line) {
			if strings.HasPrefix(f, "/") {
				copyTo(f, f)
			}
		}
	}
	return root
}

// TestDemoRoot runs the demo with -root: the shell sees only the directory's
// files and a new /proc in it, and the host's mounts do not change.
func TestDemoRoot(t *testing.T) {
	root := minimalRoot(t)
	before := hostMounts(t, root)
	out, code := demo(t, "", "-root", root, "-mount-proc", "/bin/sh", "-c", "echo /*; echo $$; read cmd < /proc/1/comm; echo $cmd")
	if code != 0 || parentLines(out) != "/bin /lib /lib64 /proc\n1\nsh\nchild has terminated\n" &&
		parentLines(out) != "/bin /lib /proc\n1\nsh\nchild has terminated\n" {
		t.Errorf("demo -root exited %d with:\n%s", code, out)
	}
	if after := hostMounts(t, root); before != after {
		t.Errorf("the host's mounts changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if _, err := os.Stat(filepath.Join(root, "proc", "1")); err == nil {
		t.Errorf("%s/proc shows a proc file system on the host", root)
	}
	out, code = demo(t, "", "-ns", "uts,pid,user", "-root", root, "/bin/sh", "-c", "true")
	if code != 1 || !strings.Contains(out, "Root") {
		t.Errorf("-root without mnt: exit %d, %q", code, out)
	}
}

// hostMounts returns the caller's mountinfo without the mounts of other
// tests' temporary directories (go test runs other packages' tests at the
// same time, and some mount there), but with those under mine.
func hostMounts(t *testing.T, mine string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], os.TempDir()+"/") && !strings.HasPrefix(f[4], mine) {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "")
}
