package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestPidns compares --pidns with bwrap, as root and as uid 65534: alone,
// with --unshare-pid (a new PID namespace inside the given one), with
// --unshare-user (which bwrap, entering the PID namespace from its new user
// namespace, is never allowed), and with --userns, the user namespace that
// owns the PID namespace. The namespaces are a process's that the runner's
// user made with unshare -Urpf, so that a user other than root owns them.
// Each run must give bwrap's output, exit status and messages, be in the
// given namespaces (or a new PID namespace inside), and leave nothing.
func TestPidns(t *testing.T) {
	for _, pair := range runners(t) {
		tpid := pidnsTarget(t, pair[0].nobody)
		pidns, userns := nsIno(t, tpid, "pid"), nsIno(t, tpid, "user")
		files := []func() *os.File{openFile(t, fmt.Sprintf("/proc/%d/ns/pid", tpid)), openFile(t, fmt.Sprintf("/proc/%d/ns/user", tpid))}
		// The joined namespaces, by inode number, which both runs share;
		// a new PID namespace's number is masked ("ns pid N") and checked
		// against --info-fd.
		const joined = `echo "id $(id -u) $(id -g)"; echo "userns $(stat -L -c %i /proc/self/ns/user)"; echo "pidns $(stat -L -c %i /proc/self/ns/pid)"; echo "ns mnt $(stat -L -c %i /proc/self/ns/mnt)"; exit 3`
		const nested = `echo "id $(id -u) $(id -g)"; echo "userns $(stat -L -c %i /proc/self/ns/user)"; echo "pid $$"; for n in mnt net pid; do echo "ns $n $(stat -L -c %i /proc/self/ns/$n)"; done; exit 3`
		in := fmt.Sprintf("id 0 0\nuserns %d\npidns %d\n", userns, pidns)
		alone := fmt.Sprintf("id 0 0\nuserns %d\npidns %d\n", nsIno(t, os.Getpid(), "user"), pidns)
		for _, c := range []struct {
			name   string
			args   []string
			script string
			keys   []string // --info-fd's keys; nil: bwrap fails
			want   string   // the start of the output where it runs
		}{
			// Run by a user other than root, bwrap always makes a user
			// namespace (--unshare-user) unless given --userns.
			{"alone", []string{"--pidns", "5", "--proc", "/proc"}, joined, keysIf(!pair[0].nobody && os.Getuid() == 0, "child-pid", "mnt-namespace"), alone},
			{"unshare-pid", []string{"--pidns", "5", "--unshare-pid", "--proc", "/proc"}, nested, nil, ""},
			{"unshare-user", []string{"--pidns", "5", "--unshare-user"}, joined, nil, ""},
			{"userns", []string{"--userns", "6", "--pidns", "5", "--proc", "/proc"}, joined, []string{"child-pid", "mnt-namespace"}, in},
			{"userns, unshare-pid and net", []string{"--userns", "6", "--pidns", "5", "--unshare-pid", "--unshare-net", "--proc", "/proc"}, nested,
				[]string{"child-pid", "mnt-namespace", "net-namespace", "pid-namespace"}, fmt.Sprintf("id 0 0\nuserns %d\npid 2\n", userns)},
		} {
			t.Run(pair[1].name+"/"+c.name, func(t *testing.T) {
				marker := fmt.Sprintf("nsgo-sandbox-pidns-%d", os.Getpid())
				args := append(append(append([]string{"--info-fd", "3", "--json-status-fd", "4"}, c.args...), base...), "/bin/sh", "-c", c.script, marker)
				want, got := compareRuns(t, pair, args, false, files...)
				if c.keys == nil {
					if want.code != 1 || got.code != 1 {
						t.Errorf("exit statuses %d and %d, want 1: %q, %q", want.code, got.code, want.stderr, got.stderr)
					}
				} else {
					checkInfo(t, pair[0].name, want, c.keys)
					checkInfo(t, pair[1].name, got, c.keys)
					if !strings.HasPrefix(got.stdout, c.want) || want.code != 3 {
						t.Errorf("inside %q (bwrap exited %d), want it to start %q", got.stdout, want.code, c.want)
					}
				}
				if l := leftovers(marker); len(l) > 0 {
					t.Errorf("still running: %v", l)
				}
			})
		}
	}
}

// keysIf is keys if ok, else nil.
func keysIf(ok bool, keys ...string) []string {
	if ok {
		return keys
	}
	return nil
}

// pidnsTarget starts util-linux's unshare -Urpf, as root or as uid 65534,
// and returns the PID of the sleep it runs in the namespaces it made; the
// test kills it at the end.
func pidnsTarget(t *testing.T, nobody bool) int {
	t.Helper()
	args := []string{"unshare", "-Urpf", "--kill-child", "sh", "-c", "echo ready; exec sleep 1000"}
	if nobody {
		args = append([]string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}, args...)
	}
	for _, a := range args[:1] {
		if _, err := exec.LookPath(a); err != nil {
			t.Skip(err)
		}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = "/"
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	})
	if line, err := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
		t.Fatalf("unshare: %q, %v", line, err)
	}
	// The sleep: the child of unshare, or of setpriv's exec'd unshare.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("the children of unshare: %q", b)
	}
	return pid
}

// nsIno is the inode number of process pid's namespace of kind.
func nsIno(t *testing.T, pid int, kind string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d/ns/%s", pid, kind), &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}
