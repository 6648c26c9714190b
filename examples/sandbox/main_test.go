package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// TestMain runs the command itself when the test re-executes its own binary,
// as bwrap: argv[0] is "bwrap", so that the usage line reads as bwrap's.
func TestMain(m *testing.M) {
	if os.Getenv("NSGO_SANDBOX_CLI") == "1" {
		args := []string{"bwrap"}
		if a := os.Getenv("NSGO_SANDBOX_ARGS"); a != "" {
			args = append(args, strings.Split(a, "\x1f")...)
		}
		os.Unsetenv("NSGO_SANDBOX_CLI")
		os.Unsetenv("NSGO_SANDBOX_ARGS")
		// go test -cover's GOCOVERDIR is this binary's, not the command's.
		environ = func() []string {
			var env []string
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "GOCOVERDIR=") {
					env = append(env, kv)
				}
			}
			return env
		}
		os.Exit(run(args))
	}
	goleak.VerifyTestMain(m)
}

// result is what one run of bwrap or of this command gave.
type result struct {
	stdout, stderr string
	code           int
	info, status   string // what --info-fd 3 and --json-status-fd 4 received
}

// runner runs a command line through bwrap or through this command, as the
// current user or as uid 65534.
type runner struct {
	name   string
	bin    string // bwrap's path, or this test binary
	asSelf bool   // this command, through the test binary
	nobody bool
}

// cliBinary returns a copy of the test binary that uid 65534 can run (the
// go command's build directory is not for others).
func cliBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if os.Getuid() != 0 {
		return self
	}
	dir, err := os.MkdirTemp("", "nsgo-sandbox-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "sandbox.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// runners are bwrap and this command, as the current user and, for root,
// as uid 65534 too.
func runners(t *testing.T) [][2]runner {
	t.Helper()
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		t.Skip("bwrap 0.8.0 is the reference; install bubblewrap:", err)
	}
	self := cliBinary(t)
	who := []bool{false}
	if os.Getuid() == 0 {
		who = append(who, true)
	}
	var rs [][2]runner
	for _, nobody := range who {
		suffix := fmt.Sprintf(" (uid %d)", os.Getuid())
		if nobody {
			suffix = " (uid 65534)"
		}
		rs = append(rs, [2]runner{
			{name: "bwrap" + suffix, bin: bwrap, nobody: nobody},
			{name: "sandbox" + suffix, bin: self, asSelf: true, nobody: nobody},
		})
	}
	return rs
}

// command is args through the runner, in /tmp, with environment env: the
// test binary as the command (its own arguments in the environment), and
// as uid 65534 for a runner of that user.
// eachRunner runs fn as a subtest for each runner, bwrap and this command,
// as root and as uid 65534.
func eachRunner(t *testing.T, fn func(t *testing.T, r runner)) {
	for _, pair := range runners(t) {
		for _, r := range pair {
			t.Run(r.name, func(t *testing.T) { fn(t, r) })
		}
	}
}

func (r runner) command(t *testing.T, args []string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(r.bin, args...)
	cmd.Dir = "/tmp"
	cmd.Env = env
	if r.asSelf {
		cmd.Env = append(cmd.Env, "NSGO_SANDBOX_CLI=1", "NSGO_SANDBOX_ARGS="+strings.Join(args, "\x1f"))
		if d, ok := os.LookupEnv("GOCOVERDIR"); ok || testing.CoverMode() != "" {
			// go test -cover's: without it a covered binary warns on
			// standard error (go test passes its own directory as a flag,
			// not always in the environment). Uid 65534 cannot write
			// root's, and gets a directory of its own, whose counts are
			// left out, as does a run without one.
			if r.nobody || !ok {
				d = openDir(t)
				os.Chmod(d, 0o777)
			}
			cmd.Env = append(cmd.Env, "GOCOVERDIR="+d)
		}
		cmd.Args = cmd.Args[:1]
	}
	if r.nobody {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	}
	return cmd
}

// run runs args with descriptors 3 and 4 as pipes for --info-fd and
// --json-status-fd, and extra files from 5 on.
func (r runner) run(t *testing.T, args []string, extra ...*os.File) result {
	t.Helper()
	res, _ := r.runFor(t, 0, args, extra...)
	return res
}

// runFor is run with a deadline, if d is not 0, after which the command is
// killed (bwrap 0.8.0 hangs on some --pidns combinations); it says whether
// it was.
func (r runner) runFor(t *testing.T, d time.Duration, args []string, extra ...*os.File) (result, bool) {
	t.Helper()
	cmd := r.command(t, args, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/nonexistent", "LANG=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	infoR, infoW, _ := os.Pipe()
	statusR, statusW, _ := os.Pipe()
	defer infoR.Close()
	defer statusR.Close()
	cmd.ExtraFiles = append([]*os.File{infoW, statusW}, extra...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	infoW.Close()
	statusW.Close()
	infoC, statusC := make(chan string), make(chan string)
	go func() { b, _ := readAll(infoR); infoC <- string(b) }()
	go func() { b, _ := readAll(statusR); statusC <- string(b) }()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var deadline <-chan time.Time
	if d != 0 {
		deadline = time.After(d)
	}
	var err error
	hung := false
	select {
	case err = <-done:
	case <-deadline:
		hung = true
		cmd.Process.Kill()
		err = <-done
		// What it started may hold the reports' pipes open.
		infoR.Close()
		statusR.Close()
	}
	res := result{stdout: stdout.String(), stderr: stderr.String(), info: <-infoC, status: <-statusC}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return res, hung
}

// openDir makes a temporary directory that uid 65534 can enter.
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nsgo-sandbox-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	return dir
}

func readAll(f *os.File) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(f)
	return b.Bytes(), err
}

// hostMounts is the set of the host's mounts (mount point, root, type),
// other than the temporary directories that concurrent tests mount under.
func hostMounts(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || strings.HasPrefix(f[4], os.TempDir()+"/") {
			continue
		}
		set[f[3]+" "+f[4]+" "+f[len(f)-3]] = true
	}
	return set
}

// leftovers lists the processes whose command line holds marker.
func leftovers(marker string) []string {
	var found []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(b, []byte(marker)) {
			found = append(found, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return found
}

// base gives the sandbox the host's programs and libraries, read-only.
var base = []string{"--ro-bind", "/usr", "/usr", "--ro-bind", "/bin", "/bin", "--ro-bind", "/lib", "/lib", "--ro-bind-try", "/lib64", "/lib64"}

// probe is what the command in the sandbox reports of itself: identity,
// capabilities, the shape of its mounts, files and their modes, its
// namespaces, its working directory and environment.
const probe = `echo "id $(id -u) $(id -g) $(id -G)"
echo "pid $$"
grep -e ^Cap -e ^NoNewPrivs /proc/self/status 2>/dev/null
echo "hostname $(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"
echo "pwd $(pwd) PWD=$PWD"
echo "env $(env | grep -c .) FOO=$FOO"
[ -r /proc/$$/environ ] && echo "environ $(tr '\0' '\n' < /proc/$$/environ | grep -c .) $(tr '\0' '\n' < /proc/$$/environ | grep -e ^PWD= -e ^HOME=)"
while read -r id parent dev root mnt opts rest; do echo "mount $mnt $root $opts ${rest#*- }" | cut -d' ' -f1-6; done < /proc/self/mountinfo 2>/dev/null
for f in / /tmp /dev /dev/null /dev/pts /dev/shm /dev/ptmx /dev/fd /proc /data /data/x /sub /link /d /d/e; do
  [ -e "$f" ] || [ -L "$f" ] && echo "file $f $(stat -c '%A %U %G' "$f")"
done
for n in cgroup ipc mnt net pid uts; do echo "ns $n $(stat -L -c %i /proc/self/ns/$n 2>/dev/null)"; done
[ -r /proc/net/fib_trie ] && { grep -q 127.0.0.1 /proc/net/fib_trie && echo "lo up" || echo "lo down"; }
for f in /f /b /rb; do [ -e $f ] && echo "data $f $(cat $f) $(stat -c %a $f)"; done
echo "uname $(uname -s 2>&1 | tail -1)"
unshare -U true 2>/dev/null && echo "userns allowed" || echo "userns refused"
[ "$(cut -d' ' -f6 /proc/$$/stat 2>/dev/null)" = "$$" ] && echo "session leader"
exit 3`

// filter is a seccomp program that answers uname(2) with errno and allows
// everything else (x86-64's system call number).
func filter(errno uint32) string {
	var b []byte
	for _, ins := range []struct {
		code   uint16
		jt, jf uint8
		k      uint32
	}{
		{0x20, 0, 0, 0},                  // ld [nr]
		{0x15, 0, 1, 63},                 // jeq uname
		{0x06, 0, 0, 0x00050000 | errno}, // ret ERRNO(errno)
		{0x06, 0, 0, 0x7fff0000},         // ret ALLOW
	} {
		b = append(b, byte(ins.code), byte(ins.code>>8), ins.jt, ins.jf, byte(ins.k), byte(ins.k>>8), byte(ins.k>>16), byte(ins.k>>24))
	}
	return string(b)
}

// compareCase runs one command line through bwrap and this command and
// compares what they give; it returns them for checks of their own.
func compareCase(t *testing.T, pair [2]runner, args []string, extra ...func() *os.File) (want, got result) {
	t.Helper()
	return compareRuns(t, pair, args, true, extra...)
}

// compareRuns is compareCase, which skips (if skipUnsupported) when this
// command says that the library does not serve the case.
func compareRuns(t *testing.T, pair [2]runner, args []string, skipUnsupported bool, extra ...func() *os.File) (want, got result) {
	t.Helper()
	before := hostMounts(t)
	files := func() []*os.File {
		var fs []*os.File
		for _, open := range extra {
			f := open()
			t.Cleanup(func() { f.Close() })
			fs = append(fs, f)
		}
		return fs
	}
	want = pair[0].run(t, args, files()...)
	got = pair[1].run(t, args, files()...)
	if skipUnsupported && strings.Contains(got.stderr, "not supported yet") {
		t.Skipf("%s: %s", pair[1].name, got.stderr)
	}
	wantOut, gotOut := unmask.Replace(masked.ReplaceAllString(want.stdout, "$1$2 N")), unmask.Replace(masked.ReplaceAllString(got.stdout, "$1$2 N"))
	if want.code != got.code || wantOut != gotOut {
		t.Errorf("%s exited %d, %s exited %d\n%s", pair[0].name, want.code, pair[1].name, got.code, lineDiff(wantOut, gotOut))
	}
	if want.stderr != got.stderr {
		t.Errorf("stderr: %s %q, %s %q", pair[0].name, want.stderr, pair[1].name, got.stderr)
	}
	after := hostMounts(t)
	for m := range after {
		if !before[m] {
			t.Errorf("left mounted on the host: %s", m)
		}
	}
	return want, got
}

// data returns a function that opens a new pipe holding s, for a
// descriptor that an option reads (--file, --args, --seccomp).
func data(t *testing.T, s string) func() *os.File {
	return func() *os.File {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() { w.WriteString(s); w.Close() }()
		return r
	}
}

// openFile returns a function that opens path, for a descriptor option
// (--bind-fd).
func openFile(t *testing.T, path string) func() *os.File {
	return func() *os.File {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
}

// lineDiff shows the lines that differ between a and b.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			fmt.Fprintf(&out, "  bwrap:   %s\n  sandbox: %s\n", x, y)
		}
	}
	return out.String()
}

// masked replaces what differs between two sandboxes by nature: the
// namespaces' inode numbers, which checkInfo checks against --info-fd.
// The PID of a command outside a new PID namespace differs too, and the
// root of bwrap's root mount is its directory "/newroot" on the tmpfs.
var masked = regexp.MustCompile(`(?m)^(ns \w+|pid) \d\d+$|^(mount /) /newroot`)

// unmask undoes masked's "N" for bwrap's root mount, whose root is "/".
var unmask = strings.NewReplacer("\nmount / N ", "\nmount / / ")

// checkInfo checks the JSON of --info-fd and --json-status-fd against the
// namespaces the command saw inside: the same keys as bwrap's, and inode
// numbers that are the command's own.
func checkInfo(t *testing.T, name string, r result, wantKeys []string) {
	t.Helper()
	var info map[string]int64
	if err := json.Unmarshal([]byte(r.info), &info); err != nil {
		t.Errorf("%s: --info-fd: %v: %q", name, err, r.info)
		return
	}
	var keys []string
	for k := range info {
		keys = append(keys, k)
	}
	if fmt.Sprint(sorted(keys)) != fmt.Sprint(wantKeys) {
		t.Errorf("%s: --info-fd keys %v, bwrap's %v", name, sorted(keys), wantKeys)
	}
	if info["child-pid"] <= 0 {
		t.Errorf("%s: child-pid %d", name, info["child-pid"])
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "ns" {
			if id, ok := info[f[1]+"-namespace"]; ok && strconv.FormatInt(id, 10) != f[2] {
				t.Errorf("%s: --info-fd %s-namespace %d, inside %s", name, f[1], id, f[2])
			}
		}
	}
	lines := strings.Split(strings.TrimSpace(r.status), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{ "child-pid": `+strconv.FormatInt(info["child-pid"], 10)) || lines[1] != fmt.Sprintf(`{ "exit-code": %d }`, r.code) {
		t.Errorf("%s: --json-status-fd %q", name, r.status)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestCompare runs a table of command lines through bwrap 0.8.0 and this
// command, as root and as uid 65534, and compares standard output (the
// probe's report from inside: identity, capabilities, mounts, files and
// modes, working directory, environment), exit status and standard error;
// the JSON of --info-fd and --json-status-fd against the namespaces inside;
// and that nothing stays mounted on the host or running.
func TestCompare(t *testing.T) {
	dataDir := openDir(t)
	os.WriteFile(filepath.Join(dataDir, "x"), []byte("x"), 0o644)
	cases := []struct {
		name  string
		args  []string
		keys  []string // --info-fd's keys
		extra []func() *os.File
	}{
		{"issue's sandbox", append([]string{"--unshare-all", "--uid", "0", "--gid", "0"}, append(base, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp")...),
			[]string{"cgroup-namespace", "child-pid", "ipc-namespace", "mnt-namespace", "net-namespace", "pid-namespace", "uts-namespace"}, nil},
		{"as pid 1, share net", append([]string{"--unshare-all", "--share-net", "--as-pid-1", "--hostname", "box"}, append(base, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp")...),
			[]string{"cgroup-namespace", "child-pid", "ipc-namespace", "mnt-namespace", "pid-namespace", "uts-namespace"}, nil},
		{"user and mount only", append([]string{"--unshare-user", "--bind", dataDir, "/data", "--dir", "/d/e", "--symlink", "/usr", "/link"}, base...),
			[]string{"child-pid", "mnt-namespace"}, nil},
		{"uid 1000, env, chdir", append([]string{"--unshare-user", "--unshare-ipc", "--uid", "1000", "--gid", "1000", "--clearenv", "--setenv", "FOO", "bar", "--setenv", "PATH", "/usr/bin", "--chdir", "/usr", "--tmpfs", "/tmp"}, base...),
			[]string{"child-pid", "ipc-namespace", "mnt-namespace"}, nil},
		{"caps and size", append([]string{"--unshare-user", "--unshare-uts", "--cap-drop", "ALL", "--cap-add", "CAP_NET_RAW", "--size", "1048576", "--tmpfs", "/tmp", "--ro-bind-try", "/nonexistent", "/x", "--dev-bind", "/dev/null", "/sub"}, base...),
			[]string{"child-pid", "mnt-namespace", "uts-namespace"}, nil},
		{"perms, file and data", append(append([]string{"--unshare-user"}, base...), "--perms", "0700", "--tmpfs", "/tmp", "--perms", "0750", "--dir", "/d/e", "--remount-ro", "/usr", "--chmod", "0700", "/d"),
			[]string{"child-pid", "mnt-namespace"}, nil},
		{"mqueue and proc without a PID namespace", append([]string{"--unshare-user", "--unshare-ipc", "--mqueue", "/dev/mqueue", "--proc", "/proc"}, base...),
			[]string{"child-pid", "ipc-namespace", "mnt-namespace"}, nil},
		{"bind-fd", append([]string{"--unshare-user", "--bind-fd", "5", "/data", "--ro-bind-fd", "6", "/sub"}, base...),
			[]string{"child-pid", "mnt-namespace"}, []func() *os.File{openFile(t, dataDir), openFile(t, "/usr/share")}},
		{"perms 0", append([]string{"--unshare-user", "--perms", "0", "--dir", "/d/e", "--perms", "0", "--file", "5", "/f", "--perms", "0", "--bind-data", "6", "/b", "--perms", "0", "--tmpfs", "/sub", "--perms", "0", "--tmpfs", "/tmp"}, base...),
			[]string{"child-pid", "mnt-namespace"}, []func() *os.File{data(t, "zero"), data(t, "bound")}},
		{"files and data", append([]string{"--unshare-user", "--perms", "0640", "--file", "5", "/f", "--bind-data", "6", "/b", "--perms", "0444", "--ro-bind-data", "7", "/rb"}, base...),
			[]string{"child-pid", "mnt-namespace"}, []func() *os.File{data(t, "file"), data(t, "bound"), data(t, "readonly")}},
		{"seccomp", append([]string{"--unshare-user", "--seccomp", "5"}, base...),
			[]string{"child-pid", "mnt-namespace"}, []func() *os.File{data(t, filter(1))}},
		{"add-seccomp-fd twice", append([]string{"--unshare-user", "--add-seccomp-fd", "5", "--add-seccomp-fd", "6"}, base...),
			[]string{"child-pid", "mnt-namespace"}, []func() *os.File{data(t, filter(1)), data(t, filter(13))}},
		{"args from a descriptor", append([]string{"--args", "5"}, base...),
			[]string{"child-pid", "mnt-namespace", "uts-namespace"}, []func() *os.File{data(t, "--unshare-user\x00--setenv\x00FOO\x00fromargs\x00--unshare-uts\x00--hostname\x00viaargs\x00")}},
		{"disable userns", append([]string{"--unshare-user", "--disable-userns"}, base...),
			[]string{"child-pid", "mnt-namespace"}, nil},
		{"new session, PID 1 bwrap's", append([]string{"--unshare-user", "--unshare-pid", "--unshare-net", "--new-session", "--proc", "/proc"}, base...),
			[]string{"child-pid", "mnt-namespace", "net-namespace", "pid-namespace"}, nil},
		{"new session as pid 1", append([]string{"--unshare-user", "--unshare-pid", "--as-pid-1", "--new-session", "--proc", "/proc"}, base...),
			[]string{"child-pid", "mnt-namespace", "pid-namespace"}, nil},
	}
	for _, pair := range runners(t) {
		for _, c := range cases {
			t.Run(pair[1].name+"/"+c.name, func(t *testing.T) {
				marker := fmt.Sprintf("nsgo-sandbox-marker-%d", os.Getpid())
				args := append(append([]string{"--info-fd", "3", "--json-status-fd", "4"}, c.args...), "/bin/sh", "-c", probe, marker)
				want, got := compareCase(t, pair, args, c.extra...)
				checkInfo(t, pair[0].name, want, c.keys)
				checkInfo(t, pair[1].name, got, c.keys)
				if want.code != 3 {
					t.Errorf("bwrap exited %d: %s", want.code, want.stderr)
				}
				if l := leftovers(marker); len(l) > 0 {
					t.Errorf("still running: %v", l)
				}
			})
		}
	}
}

// TestExitStatus checks the exit statuses: the command's own, 128 plus a
// signal's number, and 1 for a command that is not there.
func TestExitStatus(t *testing.T) {
	for _, pair := range runners(t) {
		for _, c := range [][]string{
			append(append([]string{"--unshare-user"}, base...), "/bin/sh", "-c", "exit 42"),
			append(append([]string{"--unshare-user", "--unshare-pid", "--as-pid-1"}, base...), "/bin/sh", "-c", "echo x; kill -KILL $$"),
			append(append([]string{"--unshare-user"}, base...), "/bin/sh", "-c", "kill -TERM $$"),
			append(append([]string{"--unshare-user"}, base...), "/nonexistent"),
			append(append([]string{"--unshare-user"}, base...), "sh", "-c", "echo found by PATH"),
		} {
			t.Run(pair[1].name+"/"+strings.Join(c[len(c)-2:], " "), func(t *testing.T) {
				compareCase(t, pair, c)
			})
		}
	}
}

// TestBadInput runs command lines that bwrap refuses: each must get bwrap's
// message, word for word, and exit status 1, with nothing started (the
// command would print "started") and nothing mounted on the host.
func TestBadInput(t *testing.T) {
	dir := openDir(t)
	bad7 := filepath.Join(dir, "bad7")
	os.WriteFile(bad7, []byte("abcdefg"), 0o644)
	badProg := filepath.Join(dir, "badprog")
	// BPF_RET, then a jump beyond the end of the program.
	os.WriteFile(badProg, []byte{6, 0, 0, 0, 0, 0, 0, 0, 0x15, 0, 5, 0, 0, 0, 0, 0}, 0o644)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o644)
	started := []string{"/bin/sh", "-c", "echo started"}
	cases := []struct {
		name    string
		args    []string
		seccomp string // a file for descriptor 5
	}{
		{"unknown option", []string{"--foo", "true"}, ""},
		{"missing argument", []string{"--bind", "/"}, ""},
		{"missing argument at the end", []string{"--tmpfs"}, ""},
		{"no command", []string{"--unshare-user"}, ""},
		{"bind source missing", append(append([]string{"--ro-bind", "/nonexistent-nsgo", "/x"}, base...), started...), ""},
		{"size without tmpfs", append([]string{"--size", "100", "--dir", "/x"}, started...), ""},
		{"size zero", append([]string{"--size", "0", "--tmpfs", "/x"}, started...), ""},
		{"perms without an option that uses it", append([]string{"--perms", "0700", "--bind", "/", "/"}, started...), ""},
		{"perms not octal", append([]string{"--perms", "0800", "--dir", "/x"}, started...), ""},
		{"seccomp not a multiple of 8", append(append([]string{"--seccomp", "5"}, base...), started...), bad7},
		{"seccomp program invalid", append(append([]string{"--seccomp", "5"}, base...), started...), badProg},
		{"seccomp program empty", append(append([]string{"--seccomp", "5"}, base...), started...), empty},
		{"add-seccomp-fd not a multiple of 8", append(append([]string{"--add-seccomp-fd", "5"}, base...), started...), bad7},
		{"unknown capability", append([]string{"--cap-add", "cap_bogus"}, started...), ""},
		{"capability without cap_", append([]string{"--cap-drop", "net_raw"}, started...), ""},
		{"hostname without uts", append([]string{"--hostname", "x"}, started...), ""},
		{"as-pid-1 without pid", append([]string{"--as-pid-1"}, started...), ""},
		{"userns with unshare-user", append([]string{"--userns", "5", "--unshare-user"}, started...), ""},
		{"assert-userns-disabled where they are not", append(append([]string{"--unshare-user", "--assert-userns-disabled"}, base...), started...), ""},
		{"invalid fd", append([]string{"--info-fd", "x"}, started...), ""},
		{"invalid uid", append([]string{"--uid", "-1"}, started...), ""},
		{"labels", append([]string{"--exec-label", "x"}, started...), ""},
		{"chdir missing", append(append([]string{"--chdir", "/nonexistent"}, base...), started...), ""},
		{"symlink over a directory", append(append([]string{"--symlink", "usr/bin", "/usr"}, base...), started...), ""},
		{"symlink twice", append(append([]string{"--symlink", "a", "/x", "--symlink", "b", "/x"}, base...), started...), ""},
		{"hostname too long", append(append([]string{"--unshare-uts", "--hostname", strings.Repeat("h", 65)}, base...), started...), ""},
		{"chmod missing", append(append([]string{"--chmod", "0700", "/nonexistent"}, base...), started...), ""},
		{"remount-ro missing", append(append([]string{"--remount-ro", "/nonexistent"}, base...), started...), ""},
		{"remount-ro not a mount point", append(append([]string{"--tmpfs", "/t", "--dir", "/t/d", "--remount-ro", "/t/d"}, base...), started...), ""},
		{"file from a closed descriptor", append(append([]string{"--file", "9", "/x"}, base...), started...), ""},
		{"command missing", append(base, "/nonexistent"), ""},
	}
	for _, pair := range runners(t) {
		for _, c := range cases {
			t.Run(pair[1].name+"/"+c.name, func(t *testing.T) {
				var extra []*os.File
				if c.seccomp != "" {
					for range 2 {
						f, err := os.Open(c.seccomp)
						if err != nil {
							t.Fatal(err)
						}
						defer f.Close()
						extra = append(extra, f)
					}
				}
				before := hostMounts(t)
				want := pair[0].run(t, c.args, extra[:min(1, len(extra))]...)
				var got result
				if len(extra) > 1 {
					got = pair[1].run(t, c.args, extra[1])
				} else {
					got = pair[1].run(t, c.args)
				}
				want.stderr = strings.Replace(want.stderr, "usage: "+pair[0].bin, "usage: bwrap", 1)
				got.stderr = strings.Replace(got.stderr, argv0Help, "", 1)
				if want.code != 1 || got.code != 1 || want.stderr != got.stderr || got.stdout != "" || want.stdout != "" {
					t.Errorf("bwrap: exit %d, %q %q\nsandbox: exit %d, %q %q", want.code, want.stdout, want.stderr, got.code, got.stdout, got.stderr)
				}
				if got.info != "" || got.status != "" {
					t.Errorf("reported a sandbox: %q %q", got.info, got.status)
				}
				for m := range hostMounts(t) {
					if !before[m] {
						t.Errorf("left mounted on the host: %s", m)
					}
				}
			})
		}
	}
}

// TestEscape checks targets that would lead out of the new root: through
// "..", which bwrap follows out of its new root onto its own tmpfs (exit
// 0), and this command refuses; and through a symbolic link to a host
// path, which both resolve inside the new root. Each is an error with
// bwrap's prefix and exit status 1, nothing started, and nothing made or
// mounted on the host.
func TestEscape(t *testing.T) {
	root := openDir(t)
	os.Chmod(root, 0o777)
	victim := openDir(t)
	os.Chmod(victim, 0o777)
	os.Symlink(victim, filepath.Join(root, "abs"))
	os.Symlink("../../../../../../.."+victim, filepath.Join(root, "rel"))
	self := cliBinary(t)
	for _, nobody := range []bool{false, os.Getuid() == 0} {
		r := runner{name: "sandbox", bin: self, asSelf: true, nobody: nobody}
		for _, c := range [][]string{
			{"--tmpfs", "../../x"},
			{"--dir", "/a/../../b"},
			{"--bind", root, "/", "--tmpfs", "/abs/escaped"},
			{"--bind", root, "/", "--dir", "/rel/escaped"},
			{"--bind", root, "/", "--symlink", "x", "/abs/escaped"},
		} {
			t.Run(fmt.Sprint(nobody, c), func(t *testing.T) {
				before := hostMounts(t)
				args := append(append(append([]string{"--unshare-user"}, base...), c...), "/bin/sh", "-c", "echo started")
				got := r.run(t, args)
				if got.code != 1 || !strings.HasPrefix(got.stderr, "bwrap: ") || strings.Count(got.stderr, "\n") != 1 || got.stdout != "" {
					t.Errorf("exit %d, %q %q", got.code, got.stdout, got.stderr)
				}
				if ents, _ := os.ReadDir(victim); len(ents) > 0 {
					t.Errorf("made on the host: %v", ents)
				}
				if _, err := os.Lstat("/x"); err == nil {
					t.Errorf("/x made on the host")
				}
				for m := range hostMounts(t) {
					if !before[m] {
						t.Errorf("left mounted on the host: %s", m)
					}
				}
			})
		}
	}
}

// TestTry checks the -try forms against bwrap: a missing source is skipped
// and its target not made.
func TestTry(t *testing.T) {
	for _, pair := range runners(t) {
		for _, flag := range []string{"--bind-try", "--ro-bind-try", "--dev-bind-try"} {
			t.Run(pair[1].name+"/"+flag, func(t *testing.T) {
				args := append(append([]string{"--unshare-user", flag, "/nonexistent-nsgo", "/x"}, base...), "/bin/sh", "-c", "ls /; test -e /x || echo no /x")
				_, got := compareCase(t, pair, args)
				if !strings.Contains(got.stdout, "no /x") {
					t.Errorf("/x made: %q", got.stdout)
				}
			})
		}
	}
}

// argv0Help is the line of --help for --argv0, which bwrap 0.8.0 lacks.
const argv0Help = "    --argv0 VALUE                Set argv[0] to the value VALUE before running the program\n"

// TestHelpVersion compares --help and --version with bwrap's.
func TestHelpVersion(t *testing.T) {
	for _, pair := range runners(t)[:1] {
		for _, args := range [][]string{{"--help"}, {"--version"}, {"--version", "--foo"}, {"--unshare-user", "--help"}} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				want := pair[0].run(t, args)
				got := pair[1].run(t, args)
				wantOut := strings.Replace(want.stdout, "usage: "+pair[0].bin, "usage: bwrap", 1)
				// --argv0 is bwrap 0.9.0's, listed last.
				gotOut := strings.Replace(got.stdout, argv0Help, "", 1)
				if want.code != got.code || wantOut != gotOut || want.stderr != got.stderr {
					t.Errorf("bwrap exit %d, sandbox exit %d\n%s", want.code, got.code, lineDiff(wantOut, gotOut))
				}
			})
		}
	}
}

// TestPassedDescriptors checks that descriptors the caller passes on reach
// the command, as bwrap passes them, and those the options consume do not.
func TestPassedDescriptors(t *testing.T) {
	for _, pair := range runners(t) {
		t.Run(pair[1].name, func(t *testing.T) {
			args := append(append([]string{"--unshare-user", "--info-fd", "3", "--proc", "/proc", "--dev", "/dev"}, base...), "/bin/sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '; head -c 1 <&5 >/dev/null && echo fd5 readable")
			compareCase(t, pair, args, data(t, "x"))
		})
	}
}

// TestArgv0 checks --argv0 (bwrap 0.9.0's, which 0.8.0 refuses).
func TestArgv0(t *testing.T) {
	r := runner{name: "sandbox", bin: cliBinary(t), asSelf: true}
	got := r.run(t, append(append([]string{"--unshare-user", "--argv0", "named"}, base...), "/bin/sh", "-c", `echo "$0"`))
	if got.code != 0 || got.stdout != "named\n" {
		t.Errorf("exit %d, %q %q", got.code, got.stdout, got.stderr)
	}
	got = r.run(t, []string{"--argv0", "a", "--argv0", "b", "true"})
	if got.code != 1 || got.stderr != "bwrap: --argv0 used multiple times\n" {
		t.Errorf("exit %d, %q", got.code, got.stderr)
	}
}

// start starts a runner's command line without waiting for it, with
// descriptors 3 on from files.
func (r runner) start(t *testing.T, args []string, files ...*os.File) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := r.command(t, args, "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/nonexistent")
	out := new(syncBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.ExtraFiles = files
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out
}

// syncBuffer is a bytes.Buffer that a test reads while os/exec writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// notSupported skips a test of this command for an option that the
// library cannot serve yet, which the command said.
func skipNotSupported(t *testing.T, r runner, out string) {
	t.Helper()
	if r.asSelf && strings.Contains(out, "not supported yet") {
		t.Skipf("%s: %s", r.name, out)
	}
}

// TestLockFile checks that --lock-file holds a read lock on the file while
// the sandbox runs: a write lock from outside is refused then, granted
// after.
func TestLockFile(t *testing.T) {
	dir := openDir(t)
	lockPath := filepath.Join(dir, "lock")
	os.WriteFile(lockPath, nil, 0o666)
	eachRunner(t, func(t *testing.T, r runner) {
		ready, readyW, _ := os.Pipe()
		defer ready.Close()
		args := append(append([]string{"--unshare-user", "--bind", dir, "/data", "--lock-file", "/data/lock"}, base...), "/bin/sh", "-c", "echo >&3; sleep 0.5")
		cmd, out := r.start(t, args, readyW)
		readyW.Close()
		ready.Read(make([]byte, 1))
		time.Sleep(50 * time.Millisecond) // bwrap's PID 1 takes the lock while the command starts
		f, err := os.OpenFile(lockPath, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		lk := unix.Flock_t{Type: unix.F_WRLCK}
		locked := unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk)
		cmd.Wait()
		skipNotSupported(t, r, out.String())
		if locked == nil {
			t.Errorf("write lock granted while the sandbox ran: %s", out)
		}
		if err := unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk); err != nil {
			t.Errorf("write lock refused after the sandbox: %v", err)
		}
	})
}

// TestSyncFD checks that --sync-fd stays open while the sandbox runs and
// is closed once it is gone, and that the command does not get it.
func TestSyncFD(t *testing.T) {
	eachRunner(t, func(t *testing.T, r runner) {
		syncR, syncW, _ := os.Pipe()
		defer syncR.Close()
		args := append(append([]string{"--unshare-user", "--unshare-pid", "--sync-fd", "3", "--proc", "/proc", "--dev", "/dev"}, base...), "/bin/sh", "-c", "( : >&3 ) 2>/dev/null && echo has3 || echo no3")
		cmd, out := r.start(t, args, syncW)
		syncW.Close()
		done := make(chan error, 1)
		go func() { _, err := readAll(syncR); done <- err }()
		cmd.Wait()
		skipNotSupported(t, r, out.String())
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("--sync-fd still open after the sandbox")
		}
		if out.String() != "no3\n" {
			t.Errorf("the command got the sync descriptor: %q", out)
		}
	})
}

// TestBlockFD checks --block-fd: the sandbox reports on --info-fd, then
// waits before the command runs until the descriptor has data.
func TestBlockFD(t *testing.T) {
	eachRunner(t, func(t *testing.T, r runner) {
		infoR, infoW, _ := os.Pipe()
		blockR, blockW, _ := os.Pipe()
		defer infoR.Close()
		defer blockW.Close()
		args := append(append([]string{"--unshare-user", "--info-fd", "3", "--block-fd", "4"}, base...), "/bin/sh", "-c", "echo ran")
		cmd, out := r.start(t, args, infoW, blockR)
		infoW.Close()
		blockR.Close()
		infoR.SetReadDeadline(time.Now().Add(20 * time.Second))
		info, err := readAll(infoR)
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("--info-fd not closed: %v (%q)", err, info)
		}
		time.Sleep(100 * time.Millisecond)
		early := out.String()
		blockW.Write([]byte{1})
		cmd.Wait()
		skipNotSupported(t, r, out.String())
		if !strings.Contains(string(info), `"child-pid"`) || early != "" || out.String() != "ran\n" {
			t.Errorf("info %q, output before the unblock %q, after %q", info, early, out)
		}
	})
}

// TestUsernsBlockFD checks --userns-block-fd: the sandbox reports on
// --info-fd and waits while another process writes the user namespace's
// maps, as newuidmap would.
func TestUsernsBlockFD(t *testing.T) {
	eachRunner(t, func(t *testing.T, r runner) {
		infoR, infoW, _ := os.Pipe()
		blockR, blockW, _ := os.Pipe()
		defer infoR.Close()
		defer blockW.Close()
		args := append(append([]string{"--unshare-user", "--info-fd", "3", "--userns-block-fd", "4", "--proc", "/proc"}, base...), "/bin/sh", "-c", "id -u; cat /proc/self/uid_map")
		cmd, out := r.start(t, args, infoW, blockR)
		infoW.Close()
		blockR.Close()
		var info struct {
			Pid int `json:"child-pid"`
		}
		infoR.SetReadDeadline(time.Now().Add(20 * time.Second))
		b, err := readAll(infoR)
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("--info-fd not closed: %v (%q)", err, b)
		}
		if err := json.Unmarshal(b, &info); err != nil {
			blockW.Close()
			cmd.Wait()
			skipNotSupported(t, r, out.String())
			t.Fatalf("--info-fd %q: %v (%s)", b, err, out)
		}
		// The maps of the user running the sandbox: itself as 1000.
		uid := os.Getuid()
		if r.nobody {
			uid = 65534
		}
		pid := strconv.Itoa(info.Pid)
		os.WriteFile("/proc/"+pid+"/setgroups", []byte("deny"), 0)
		if err := os.WriteFile("/proc/"+pid+"/uid_map", []byte(fmt.Sprintf("1000 %d 1", uid)), 0); err != nil && !r.nobody {
			t.Error(err)
		}
		os.WriteFile("/proc/"+pid+"/gid_map", []byte(fmt.Sprintf("1000 %d 1", uid)), 0)
		blockW.Write([]byte{1})
		cmd.Wait()
		if r.nobody {
			return // the test runs as root: uid 65534's maps are not its to write
		}
		if f := strings.Fields(out.String()); len(f) < 4 || f[0] != "1000" || f[1] != "1000" || f[2] != strconv.Itoa(uid) {
			t.Errorf("inside: %q", out)
		}
	})
}

// TestUserns checks --userns: the sandbox enters an existing user
// namespace instead of creating one.
func TestUserns(t *testing.T) {
	for _, pair := range runners(t) {
		if pair[0].nobody {
			continue // the namespace is the test's, which runs as root
		}
		uid := uint32(os.Getuid())
		ns, err := namespace.NewUserNamespace(idmap.Map{{Inside: 0, Outside: uid, Count: 1}}, idmap.Map{{Inside: 0, Outside: uint32(os.Getgid()), Count: 1}})
		if err != nil {
			t.Skip(err)
		}
		defer ns.Close()
		for _, r := range pair {
			t.Run(r.name, func(t *testing.T) {
				args := append(append([]string{"--userns", "3", "--uid", "0", "--gid", "0", "--proc", "/proc"}, base...), "/bin/sh", "-c", "id -u; stat -L -c %i /proc/self/ns/user")
				cmd, out := r.start(t, args, ns)
				cmd.Wait()
				skipNotSupported(t, r, out.String())
				st, _ := os.Stat("/proc/self/fd/" + strconv.Itoa(int(ns.Fd())))
				want := fmt.Sprintf("0\n%d\n", st.Sys().(*syscall.Stat_t).Ino)
				if out.String() != want {
					t.Errorf("inside %q, want %q", out, want)
				}
			})
		}
	}
}

// TestAssertUsernsDisabled checks --assert-userns-disabled with --userns,
// its use: the sandbox enters the user namespace of a program started with
// DisableUserNamespaces (bwrap's --disable-userns), where unshare -U fails,
// and runs; TestBadInput has the other side.
func TestAssertUsernsDisabled(t *testing.T) {
	uid, gid := idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}}, idmap.Map{{Inside: 0, Outside: uint32(os.Getgid()), Count: 1}}
	p, err := namespace.Spawn(namespace.Options{New: namespace.User, UIDMap: uid, GIDMap: gid, SetGroups: idmap.Deny,
		DisableUserNamespaces: true, Path: "/bin/sleep", Args: []string{"sleep", "60"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { p.Kill(); p.Wait() }()
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", p.Pid))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	for _, pair := range runners(t) {
		if pair[0].nobody {
			continue // the namespace is the test's, which runs as root
		}
		for _, r := range pair {
			t.Run(r.name, func(t *testing.T) {
				args := append(append([]string{"--userns", "3", "--assert-userns-disabled"}, base...), "/bin/sh", "-c", "unshare -U true 2>&1 >&- | grep -c 'No space left'; echo started")
				cmd, out := r.start(t, args, ns)
				err := cmd.Wait()
				skipNotSupported(t, r, out.String())
				if err != nil || out.String() != "1\nstarted\n" {
					t.Errorf("%v, printed %q, want %q (unshare -U refused with ENOSPC)", err, out.String(), "1\nstarted\n")
				}
			})
		}
	}
}

// TestDieWithParent checks --die-with-parent: when the process that started
// the sandbox dies, the sandbox's command is killed; without the option it
// lives on (the control, killed by the test afterwards).
func TestDieWithParent(t *testing.T) {
	for _, pair := range runners(t) {
		for _, r := range pair {
			for _, die := range []bool{true, false} {
				t.Run(fmt.Sprint(r.name, " die=", die), func(t *testing.T) {
					marker := fmt.Sprintf("nsgo-sandbox-parent-%d-%v-%v", os.Getpid(), r.nobody, die)
					args := append([]string{"--unshare-user", "--unshare-pid", "--as-pid-1"}, base...)
					if die {
						args = append(args, "--die-with-parent")
					}
					args = append(args, "/bin/sh", "-c", "echo up; sleep 30; echo done", marker)
					// A shell between: the sandbox's parent, which the test kills.
					sh := exec.Command("/bin/sh", "-c", `"$@" & wait`, "sh", r.bin)
					sh.Args = append(sh.Args, args...)
					sh.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/nonexistent"}
					if r.asSelf {
						sh.Args = sh.Args[:5]
						sh.Env = append(sh.Env, "NSGO_SANDBOX_CLI=1", "NSGO_SANDBOX_ARGS="+strings.Join(args, "\x1f"))
					}
					if r.nobody {
						sh.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
					}
					up, upW, _ := os.Pipe()
					defer up.Close()
					sh.Stdout = upW
					if err := sh.Start(); err != nil {
						t.Fatal(err)
					}
					upW.Close()
					up.SetReadDeadline(time.Now().Add(20 * time.Second))
					if _, err := up.Read(make([]byte, 3)); err != nil {
						sh.Process.Kill()
						sh.Wait()
						t.Fatalf("the command did not start: %v", err)
					}
					sh.Process.Kill()
					sh.Wait()
					var left []string
					for range 100 {
						if left = leftovers(marker); len(left) == 0 {
							break
						}
						time.Sleep(20 * time.Millisecond)
					}
					// Clean up what the test started and left, by PID.
					for _, l := range left {
						if pid, err := strconv.Atoi(strings.SplitN(l, ":", 2)[0]); err == nil {
							syscall.Kill(pid, syscall.SIGKILL)
						}
					}
					if die && len(left) > 0 {
						t.Errorf("still running after the parent died: %v", left)
					}
					if !die && len(left) == 0 {
						t.Errorf("the command died with its parent without --die-with-parent")
					}
				})
			}
		}
	}
}

// TestDeletedWorkingDirectory: the caller's working directory was removed;
// bwrap (get_current_dir_name fails, nothing to try) goes to $HOME, and so
// must this command (it took / and never tried $HOME).
func TestDeletedWorkingDirectory(t *testing.T) {
	for _, pair := range runners(t) {
		var outs [2]string
		for i, r := range pair {
			parent, err := os.MkdirTemp("", "nsgo-deleted-cwd")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(parent)
			os.Chmod(parent, 0o777)
			d := filepath.Join(parent, "gone")
			if err := os.Mkdir(d, 0o777); err != nil {
				t.Fatal(err)
			}
			args := []string{"--bind", "/", "/", "--unshare-user", "/bin/sh", "-c", `echo "$(pwd -P) $PWD"`}
			cmd := r.command(t, args, "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/usr/share")
			cmd.Args = append([]string{"sh", "-c", `cd "$D" && rmdir "$D" && exec "$@"`, "sh", cmd.Path}, cmd.Args[1:]...)
			cmd.Path = "/bin/sh"
			cmd.Env = append(cmd.Env, "D="+d)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			cmd.Run()
			outs[i] = out.String()
		}
		if outs[0] != outs[1] {
			t.Errorf("%s: %q, %s: %q", pair[0].name, outs[0], pair[1].name, outs[1])
		}
	}
}
