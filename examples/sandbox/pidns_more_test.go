package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPidnsBlockFDInfo: --pidns with --unshare-pid (and --userns,
// --unshare-net) and --block-fd, which makes the sandbox report --info-fd
// early (OnClone). bwrap reports the namespaces of the process in the
// sandbox; they must match what the command sees inside.
func TestPidnsBlockFDInfo(t *testing.T) {
	for _, pair := range runners(t) {
		tpid := pidnsTarget(t, pair[0].nobody)
		files := []func() *os.File{
			openFile(t, fmt.Sprintf("/proc/%d/ns/pid", tpid)),
			openFile(t, fmt.Sprintf("/proc/%d/ns/user", tpid)),
			openFile(t, "/dev/null"),
		}
		const nested = `echo "pid $$"; for n in mnt net pid; do echo "ns $n $(stat -L -c %i /proc/self/ns/$n)"; done; exit 3`
		for _, c := range []struct {
			name string
			args []string
			keys []string
		}{
			{"userns pidns unshare-pid net block-fd", []string{"--userns", "6", "--pidns", "5", "--unshare-pid", "--unshare-net", "--block-fd", "7", "--proc", "/proc"},
				[]string{"child-pid", "mnt-namespace", "net-namespace", "pid-namespace"}},
			{"userns pidns unshare-pid block-fd", []string{"--userns", "6", "--pidns", "5", "--unshare-pid", "--block-fd", "7", "--proc", "/proc"},
				[]string{"child-pid", "mnt-namespace", "pid-namespace"}},
			// For comparison: without --pidns (the code before this change).
			{"userns net block-fd (no pidns)", []string{"--userns", "6", "--unshare-net", "--block-fd", "7", "--proc", "/proc"},
				[]string{"child-pid", "mnt-namespace", "net-namespace"}},
			{"pidns alone block-fd", []string{"--userns", "6", "--pidns", "5", "--block-fd", "7", "--proc", "/proc"},
				[]string{"child-pid", "mnt-namespace"}},
		} {
			t.Run(pair[1].name+"/"+c.name, func(t *testing.T) {
				marker := fmt.Sprintf("nsgo-sandbox-pidns-%d", os.Getpid())
				args := append(append(append([]string{"--info-fd", "3", "--json-status-fd", "4"}, c.args...), base...), "/bin/sh", "-c", nested, marker)
				want, got := compareRuns(t, pair, args, false, files...)
				checkInfo(t, pair[0].name, want, c.keys)
				checkInfo(t, pair[1].name, got, c.keys)
				t.Logf("bwrap info %q\nsandbox info %q\nsandbox out %q", want.info, got.info, got.stdout)
				if l := leftovers(marker); len(l) > 0 {
					t.Errorf("still running: %v", l)
				}
			})
		}
	}
}

// TestPidnsAsPID1: --pidns --unshare-pid --as-pid-1, where bwrap
// 0.8.0 hangs; ours must run the command as PID 1 and not hang.
func TestPidnsAsPID1(t *testing.T) {
	for _, pair := range runners(t) {
		tpid := pidnsTarget(t, pair[0].nobody)
		t.Run(pair[1].name, func(t *testing.T) {
			pidf, _ := os.Open(fmt.Sprintf("/proc/%d/ns/pid", tpid))
			userf, _ := os.Open(fmt.Sprintf("/proc/%d/ns/user", tpid))
			defer pidf.Close()
			defer userf.Close()
			marker := fmt.Sprintf("nsgo-sandbox-pidns-%d", os.Getpid())
			args := append(append([]string{"--userns", "6", "--pidns", "5", "--unshare-pid", "--as-pid-1", "--proc", "/proc"}, base...), "/bin/sh", "-c", `echo "pid $$"; exit 4`, marker)
			got, hung := pair[1].runFor(t, 20*time.Second, args, pidf, userf)
			if hung || got.code != 4 || got.stdout != "pid 1\n" {
				t.Errorf("hung %v, exit %d, out %q, err %q; want pid 1, exit 4", hung, got.code, got.stdout, got.stderr)
			}
			if l := leftovers(marker); len(l) > 0 {
				t.Errorf("still running: %v", l)
			}
		})
	}
}

// TestPidnsOddFDs compares with bwrap odd --pidns descriptors with
// --unshare-pid: the caller's own PID namespace, a network namespace file, a
// PID namespace whose init has died, and a regular file.
func TestPidnsOddFDs(t *testing.T) {
	for _, pair := range runners(t) {
		// A PID namespace whose init died: open its file, then kill it.
		cmd := exec.Command("unshare", "-Upf", "--kill-child", "--map-root-user", "sleep", "1000")
		if pair[0].nobody {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var deadPid, deadUser string
		for i := 0; i < 100; i++ {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
			if s := strings.TrimSpace(string(b)); s != "" {
				deadPid, deadUser = "/proc/"+s+"/ns/pid", "/proc/"+s+"/ns/user"
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		// wait for the exec of sleep in the child
		time.Sleep(200 * time.Millisecond)
		df, err := os.Open(deadPid)
		if err != nil {
			t.Fatal(err)
		}
		du, err := os.Open(deadUser)
		if err != nil {
			t.Fatal(err)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		// unshare's child, PID 1 there, dies with its parent? kill by namespace
		time.Sleep(200 * time.Millisecond)

		tpid := pidnsTarget(t, pair[0].nobody)
		openTNet := openFile(t, fmt.Sprintf("/proc/%d/ns/net", tpid))
		openTPid := openFile(t, fmt.Sprintf("/proc/%d/ns/pid", tpid))
		openTUser := openFile(t, fmt.Sprintf("/proc/%d/ns/user", tpid))
		openOwn := openFile(t, "/proc/self/ns/pid")
		openNet := openFile(t, "/proc/self/ns/net")
		openReg := openFile(t, "/etc/hostname")
		dup := func(f *os.File) func() *os.File {
			return func() *os.File {
				g, err := os.Open(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
				if err != nil {
					t.Fatal(err)
				}
				return g
			}
		}
		for _, c := range []struct {
			name  string
			args  []string
			files []func() *os.File
		}{
			{"own pidns unshare-pid", []string{"--pidns", "5", "--unshare-pid", "--proc", "/proc"}, []func() *os.File{openOwn}},
			{"net as pidns", []string{"--pidns", "5", "--unshare-pid"}, []func() *os.File{openNet}},
			{"target's net as pidns", []string{"--pidns", "5", "--unshare-pid", "--proc", "/proc"}, []func() *os.File{openTNet}},
			{"swapped userns and pidns", []string{"--userns", "5", "--pidns", "6", "--unshare-pid", "--proc", "/proc"}, []func() *os.File{openTPid, openTUser}},
			{"regular file as pidns", []string{"--pidns", "5", "--unshare-pid"}, []func() *os.File{openReg}},
			{"dead init pidns", []string{"--userns", "6", "--pidns", "5", "--unshare-pid", "--proc", "/proc"}, []func() *os.File{dup(df), dup(du)}},
			{"dead init pidns alone", []string{"--userns", "6", "--pidns", "5", "--proc", "/proc"}, []func() *os.File{dup(df), dup(du)}},
		} {
			t.Run(pair[1].name+"/"+c.name, func(t *testing.T) {
				marker := fmt.Sprintf("nsgo-sandbox-pidns-%d", os.Getpid())
				args := append(append(append([]string{}, c.args...), base...), "/bin/sh", "-c", `echo "pid $$ net $(stat -L -c %i /proc/self/ns/net)"; exit 3`, marker)
				want, got := compareRuns(t, pair, args, false, c.files...)
				t.Logf("bwrap %d %q %q; sandbox %d %q %q", want.code, want.stdout, want.stderr, got.code, got.stdout, got.stderr)
				if l := leftovers(marker); len(l) > 0 {
					t.Errorf("still running: %v", l)
				}
			})
		}
		df.Close()
		du.Close()
	}
}
