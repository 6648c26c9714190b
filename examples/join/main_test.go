package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"go.uber.org/goleak"
)

// TestMain runs the demo's child when the demo re-executes this binary.
func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		child(os.Stdout, mode == "stay")
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
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
