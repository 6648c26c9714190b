package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOnCloneController: a controller reads --info-fd while the
// sandbox blocks on --block-fd, looks at /proc/child-pid (alive, its
// namespaces those reported, its NSpid ending in 1 with --unshare-pid),
// then releases it; the command's namespaces must be those reported.
// Compared with bwrap.
func TestOnCloneController(t *testing.T) {
	for _, pair := range runners(t) {
		tpid := pidnsTarget(t, pair[0].nobody)
		for _, c := range []struct {
			name string
			args []string
		}{
			{"userns pidns unshare-pid net", []string{"--userns", "6", "--pidns", "5", "--unshare-pid", "--unshare-net"}},
			{"userns pidns unshare-pid uts ipc die", []string{"--userns", "6", "--pidns", "5", "--unshare-pid", "--unshare-uts", "--unshare-ipc", "--die-with-parent"}},
			{"userns pidns", []string{"--userns", "6", "--pidns", "5", "--unshare-net"}},
			{"userns unshare-pid", []string{"--userns", "6", "--unshare-pid", "--unshare-net"}},
			{"userns net cgroup", []string{"--userns", "6", "--unshare-net", "--unshare-cgroup"}},
		} {
			for _, r := range pair {
				t.Run(r.name+"/"+c.name, func(t *testing.T) {
					pidf, _ := os.Open(fmt.Sprintf("/proc/%d/ns/pid", tpid))
					userf, _ := os.Open(fmt.Sprintf("/proc/%d/ns/user", tpid))
					defer pidf.Close()
					defer userf.Close()
					infoR, infoW, _ := os.Pipe()
					blockR, blockW, _ := os.Pipe()
					defer infoR.Close()
					defer blockW.Close()
					marker := fmt.Sprintf("nsgo-sandbox-onclone-%d", os.Getpid())
					const script = `echo "pid $$"; for n in mnt net pid uts ipc cgroup; do echo "ns $n $(stat -L -c %i /proc/self/ns/$n)"; done`
					args := append(append(append([]string{"--info-fd", "3", "--block-fd", "4", "--proc", "/proc"}, c.args...), base...), "/bin/sh", "-c", script, marker)
					cmd, out := r.start(t, args, infoW, blockR, pidf, userf)
					infoW.Close()
					blockR.Close()
					infoR.SetReadDeadline(time.Now().Add(20 * time.Second))
					b, err := readAll(infoR)
					if err != nil {
						cmd.Process.Kill()
						cmd.Wait()
						t.Fatalf("--info-fd: %v (%q) %s", err, b, out)
					}
					var info map[string]int64
					if err := json.Unmarshal(b, &info); err != nil {
						blockW.Close()
						cmd.Wait()
						skipNotSupported(t, r, out.String())
						t.Fatalf("--info-fd %q: %v (%s)", b, err, out)
					}
					pid := strconv.FormatInt(info["child-pid"], 10)
					status, err := os.ReadFile("/proc/" + pid + "/status")
					var state, nspid string
					for line := range strings.Lines(string(status)) {
						if v, ok := strings.CutPrefix(line, "State:"); ok {
							state = strings.TrimSpace(v)
						}
						if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
							nspid = strings.TrimSpace(v)
						}
					}
					var problems []string
					if err != nil || strings.HasPrefix(state, "Z") {
						problems = append(problems, fmt.Sprintf("child-pid %s not alive: %v %q", pid, err, state))
					}
					if strings.Contains(strings.Join(c.args, " "), "--unshare-pid") && !strings.HasSuffix(strings.Join(strings.Fields(nspid), " "), " 1") {
						problems = append(problems, fmt.Sprintf("child-pid %s NSpid %q, not 1 in its namespace", pid, nspid))
					}
					for k, v := range info {
						n, ok := strings.CutSuffix(k, "-namespace")
						if !ok {
							continue
						}
						var st syscall.Stat_t
						if err := syscall.Stat("/proc/"+pid+"/ns/"+n, &st); err != nil || int64(st.Ino) != v {
							problems = append(problems, fmt.Sprintf("/proc/%s/ns/%s is %d (%v) at report time, info says %d", pid, n, st.Ino, err, v))
						}
					}
					blockW.Write([]byte{1})
					cmd.Wait()
					for _, line := range strings.Split(out.String(), "\n") {
						f := strings.Fields(line)
						if len(f) == 3 && f[0] == "ns" {
							if id, ok := info[f[1]+"-namespace"]; ok && strconv.FormatInt(id, 10) != f[2] {
								problems = append(problems, fmt.Sprintf("info %s-namespace %d, inside %s", f[1], id, f[2]))
							}
						}
					}
					t.Logf("info %q nspid %q out %q", b, nspid, out)
					for _, p := range problems {
						t.Error(p)
					}
					if l := leftovers(marker); len(l) > 0 {
						t.Errorf("still running: %v", l)
					}
				})
			}
		}
	}
}
