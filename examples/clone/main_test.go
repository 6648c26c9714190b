package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"
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
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "NSGO_CLONE_DEMO=1", "NSGO_CLONE_ARGS="+strings.Join(args, "\x1f"))
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
	out, code := demo(t, "hostname container; hostname; echo pid=$$; id -u; echo env=$(env | grep -vc -e ^PWD= -e ^SHLVL= -e ^_=)\n")
	if code != 0 || parentLines(out) != "container\npid=1\n0\nenv=0\nchild has terminated\n" {
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
