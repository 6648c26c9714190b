// Command bench times nsgo against its peers side by side, in one run,
// alternating, and prints a table of medians and ratios:
//
//   - Spawn of /bin/true in new uts, pid, ipc, mnt and user namespaces with
//     root maps, against os/exec with the same flags and maps, and against a
//     C clone+execve (testdata/spawn.c, compiled when gcc is there);
//   - the same without a user namespace (root only);
//   - Handle.Spawn of /bin/true into all of a container's namespaces, against
//     `nsenter -t PID -a /bin/true`;
//   - Handle.Do on a network namespace, against a raw setns round trip on a
//     locked thread and against the CNI plugins' ns.NetNS.Do;
//   - Join of six kinds of a container and Close, through the pidfd
//     (Linux 6.11), against the same through /proc as before 6.11, and
//     against the bare system calls of the pidfd method (the floor);
//   - procfs.List against `lsns -J`;
//   - a sandbox as bwrap makes it (a tmpfs root with read-only binds of
//     /usr, /bin, /lib and /lib64, /proc, a minimal /dev, a tmpfs /tmp, in
//     new user, mount, PID, IPC, UTS, network and cgroup namespaces), from
//     one Spawn against bwrap 0.8.0 started with os/exec, and against
//     testdata/sandbox.c, the same sandbox by the fewest system calls in C,
//     timed in its own process (the floor of any Spawn);
//   - the same command line as a whole process: examples/sandbox, built
//     once into a temporary directory, against bwrap 0.8.0, both started
//     with os/exec, against util-linux unshare making the same namespaces
//     and nothing else, and against testdata/sandbox.c run once a process
//     (the floor of such a process, in C).
//
// It is a module of its own so that nsgo's go.mod keeps its three
// dependencies. Run it as root for every row:
//
//	cd examples/bench && go run . [-rounds 21] [-batch 20] [-only TEXT]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
	"golang.org/x/sys/unix"
)

var (
	rounds = flag.Int("rounds", 21, "alternating rounds; the medians are over these")
	batch  = flag.Int("batch", 20, "operations per round and peer; a round's figure is their mean")
	only   = flag.String("only", "", "measure only the rows whose operation contains this text")
)

// peer is one contender of a comparison: run does n operations and returns
// their mean duration.
type peer struct {
	name string
	run  func(n int) (time.Duration, error)
}

type row struct {
	what   string
	target string // the target for the first peer against the second
	peers  []peer
}

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run measures and prints the table; it returns on error so that its deferred
// clean-ups (the container, the bind mount) always run.
func run() error {
	root := os.Getuid() == 0
	cbin, removeC := buildC("spawn")
	defer removeC()
	floor, removeFloor := buildC("sandbox")
	defer removeFloor()
	var rows []row
	userKinds := namespace.UTS | namespace.PID | namespace.IPC | namespace.Mount | namespace.User
	rows = append(rows, row{"Spawn uts|pid|ipc|mnt|user, root maps", "<= 0.75x os/exec", []peer{
		{"nsgo Spawn", spawnNSGo(userKinds)},
		{"os/exec", spawnExec(userKinds)},
		{"C clone+execve", spawnC(cbin, userKinds)},
	}})
	if root {
		plain := userKinds &^ namespace.User
		rows = append(rows, row{"Spawn uts|pid|ipc|mnt, no user namespace", "<= 1.0x os/exec", []peer{
			{"nsgo Spawn", spawnNSGo(plain)},
			{"os/exec", spawnExec(plain)},
			{"C clone+execve", spawnC(cbin, plain)},
		}})
	}
	target, h, err := container()
	if err != nil {
		return err
	}
	defer func() { h.Close(); target.Kill(); target.Wait() }()
	rows = append(rows, row{"into all namespaces of a container", "<= 0.5x nsenter -a", []peer{
		{"nsgo Handle.Spawn", func(n int) (time.Duration, error) {
			return timed(n, func() error { return wait(h.Spawn(namespace.Options{Path: "/bin/true"})) })
		}},
		{"nsenter -a", command("nsenter", "-t", strconv.Itoa(target.Pid), "-a", "/bin/true")},
		{"/bin/true alone", command("/bin/true")},
	}})
	if root {
		netns, err := namespace.Unshare(namespace.Net)
		if err != nil {
			return err
		}
		defer netns.Close()
		path, unbind, err := bind(netns)
		if err != nil {
			return err
		}
		defer unbind()
		cni, err := ns.GetNS(path)
		if err != nil {
			return err
		}
		defer cni.Close()
		rows = append(rows, row{"Do on a net namespace", "<= 1.0x CNI, <= 3x raw", []peer{
			{"nsgo Handle.Do", func(n int) (time.Duration, error) {
				return timed(n, func() error { return netns.Do(func() error { return nil }) })
			}},
			{"CNI NetNS.Do", func(n int) (time.Duration, error) {
				return timed(n, func() error { return cni.Do(func(ns.NetNS) error { return nil }) })
			}},
			{"raw setns round trip", rawSetns(path)},
		}})
	}
	// A container of its own, whose namespaces no descriptor of this
	// process holds between operations, as for a caller that joins a
	// container once.
	other, err := containerProcess()
	if err != nil {
		return err
	}
	defer func() { other.Kill(); other.Wait() }()
	six := namespace.Mount | namespace.UTS | namespace.IPC | namespace.Net | namespace.PID | namespace.Cgroup
	rows = append(rows, row{"Join 6 kinds of a container + Close", "<= 0.6x /proc", []peer{
		{"nsgo Join (pidfd ioctls)", func(n int) (time.Duration, error) {
			return timed(n, func() error {
				h, err := namespace.Join(other.Pid, six)
				if err != nil {
					return err
				}
				return h.Close()
			})
		}},
		{"pidfd_open + /proc/PID/ns opens + poll", joinViaProc(other.Pid, six)},
		{"raw pidfd_open + 6 ioctls + close_range", joinRaw(other.Pid)},
	}})
	rows = append(rows, row{"sandbox: bwrap --unshare-all, tmpfs root, ro binds, proc, dev, tmp", "<= 0.25x bwrap", []peer{
		{"nsgo Spawn", sandboxNSGo()},
		{"bwrap 0.8.0", command("bwrap", bwrapArgs...)},
		{"/bin/true alone", command("/bin/true")},
		// The floor in C: the same sandbox by the fewest system calls,
		// timed inside that program from clone to waitpid.
		{"C floor, in its process (testdata/sandbox.c)", sandboxC(floor)},
	}})
	sandboxBin, removeSandbox := buildSandbox()
	defer removeSandbox()
	rows = append(rows, row{"bwrap's command line, whole process: examples/sandbox", "<= 0.5x bwrap", []peer{
		{"examples/sandbox", command(sandboxBin, bwrapArgs...)},
		{"bwrap 0.8.0", command("bwrap", bwrapArgs...)},
		{"/bin/true alone", command("/bin/true")},
		// The floor of a whole process in C: the same namespaces, and
		// nothing else (no mounts, no root), by util-linux.
		{"unshare, the namespaces only", command("unshare", unshareAllArgs...)},
		// The floor of a whole process in C, with the mounts: the
		// static testdata/sandbox.c, one sandbox a process.
		{"C floor, whole process (testdata/sandbox.c)", command(floor, "1")},
	}})
	rows = append(rows, row{"list every namespace", "<= 0.2x lsns -J", []peer{
		{"nsgo procfs.List", func(n int) (time.Duration, error) {
			return timed(n, func() error { _, err := procfs.List(); return err })
		}},
		{"lsns -J", command("lsns", "-J")},
	}})

	fmt.Printf("%s, %d CPUs, Linux %s, uid %d; medians of %d alternating rounds of %d operations\n\n",
		runtime.Version(), runtime.NumCPU(), kernel(), os.Getuid(), *rounds, *batch)
	fmt.Println("| operation | peer | median | vs 2nd | target |")
	fmt.Println("|---|---|---|---|---|")
	for _, r := range rows {
		if !strings.Contains(r.what, *only) {
			continue
		}
		meds, err := measure(r.peers)
		if err != nil {
			fmt.Printf("| %s | | %v | | |\n", cell(r.what), err)
			continue
		}
		for i, p := range r.peers {
			if meds[i] < 0 {
				fmt.Printf("| %s | %s | not available | | |\n", cell(r.what), p.name)
				continue
			}
			target := ""
			if i == 0 {
				target = r.target
			}
			fmt.Printf("| %s | %s | %s | %.2fx | %s |\n", cell(r.what), p.name, meds[i].Round(time.Microsecond/10), float64(meds[i])/float64(meds[1]), target)
		}
	}
	return nil
}

// measure runs the peers in alternating rounds and returns their medians; a
// peer that is not available gets -1.
func measure(peers []peer) ([]time.Duration, error) {
	times := make([][]time.Duration, len(peers))
	for round := range *rounds {
		// Each round starts with the next peer, so that none always follows
		// the same one (and the kernel's clean-up of its namespaces).
		for j := range peers {
			i := (round + j) % len(peers)
			p := peers[i]
			d, err := p.run(*batch)
			if err == errUnavailable {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.name, err)
			}
			times[i] = append(times[i], d)
		}
	}
	meds := make([]time.Duration, len(peers))
	for i, t := range times {
		if len(t) == 0 {
			meds[i] = -1
			continue
		}
		slices.Sort(t)
		meds[i] = t[len(t)/2]
	}
	return meds, nil
}

var errUnavailable = fmt.Errorf("not available")

func timed(n int, op func() error) (time.Duration, error) {
	start := time.Now()
	for range n {
		if err := op(); err != nil {
			return 0, err
		}
	}
	return time.Since(start) / time.Duration(n), nil
}

func wait(p *namespace.Process, err error) error {
	if err != nil {
		return err
	}
	st, err := p.Wait()
	if err == nil && !st.Success() {
		err = fmt.Errorf("program: %v", st)
	}
	return err
}

// rootMaps are the maps a container runtime writes: a shifted range as root,
// one's own IDs otherwise.
func rootMaps() (idmap.Map, idmap.Map) {
	if os.Getuid() == 0 {
		return idmap.Map{{Inside: 0, Outside: 100000, Count: 65536}}, idmap.Map{{Inside: 0, Outside: 100000, Count: 65536}}
	}
	return idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}}, idmap.Map{{Inside: 0, Outside: uint32(os.Getgid()), Count: 1}}
}

func spawnNSGo(kinds namespace.Kind) func(int) (time.Duration, error) {
	opts := namespace.Options{Path: "/bin/true", New: kinds, Env: []string{}}
	if kinds.Has(namespace.User) {
		opts.UIDMap, opts.GIDMap = rootMaps()
	}
	return func(n int) (time.Duration, error) {
		return timed(n, func() error { return wait(namespace.Spawn(opts)) })
	}
}

func spawnExec(kinds namespace.Kind) func(int) (time.Duration, error) {
	attr := &syscall.SysProcAttr{Cloneflags: uintptr(kinds)}
	if kinds.Has(namespace.User) {
		u, g := rootMaps()
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: int(u[0].Inside), HostID: int(u[0].Outside), Size: int(u[0].Count)}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: int(g[0].Inside), HostID: int(g[0].Outside), Size: int(g[0].Count)}}
		attr.GidMappingsEnableSetgroups = os.Getuid() == 0
	}
	return func(n int) (time.Duration, error) {
		return timed(n, func() error {
			cmd := exec.Command("/bin/true")
			cmd.Env = []string{}
			cmd.SysProcAttr = attr
			return cmd.Run()
		})
	}
}

// buildC compiles testdata/NAME.c into a temporary directory, which remove
// deletes; it returns "" for bin when gcc is missing or fails. It links
// statically when it can: a peer timed as a whole process then pays no
// dynamic loader, as the static examples/sandbox does not.
func buildC(name string) (bin string, remove func()) {
	remove = func() {}
	if _, err := exec.LookPath("gcc"); err != nil {
		return "", remove
	}
	dir, err := os.MkdirTemp("", "nsgo-bench-c")
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return "", remove
	}
	remove = func() { os.RemoveAll(dir) }
	bin = filepath.Join(dir, name)
	src := filepath.Join("testdata", name+".c")
	if exec.Command("gcc", "-O2", "-static", "-o", bin, src).Run() == nil {
		return bin, remove
	}
	if out, err := exec.Command("gcc", "-O2", "-o", bin, src).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: gcc %s: %v\n%s", src, err, out)
		return "", remove
	}
	return bin, remove
}

// buildSandbox builds examples/sandbox (CGO_ENABLED=0) into a temporary directory, which
// remove deletes; bin is "" when the build fails, and the row says the peer
// is not available.
func buildSandbox() (bin string, remove func()) {
	remove = func() {}
	dir, err := os.MkdirTemp("", "nsgo-bench-sandbox")
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return "", remove
	}
	remove = func() { os.RemoveAll(dir) }
	bin = filepath.Join(dir, "sandbox")
	// Static, without cgo, as a drop-in for bwrap would ship: it starts
	// without the dynamic loader and libc's initialisation.
	cmd := exec.Command("go", "build", "-o", bin, "./examples/sandbox")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: go build ./examples/sandbox: %v\n%s", err, out)
		return "", remove
	}
	return bin, remove
}

// spawnC runs the C program bin for a batch; it reports the median of its own
// batch, which a round takes as its figure.
func spawnC(bin string, kinds namespace.Kind) func(int) (time.Duration, error) {
	if bin == "" {
		return func(int) (time.Duration, error) { return 0, errUnavailable }
	}
	return func(n int) (time.Duration, error) {
		out, err := exec.Command(bin, strconv.Itoa(n), strconv.FormatUint(uint64(kinds), 16)).Output()
		if err != nil {
			return 0, err
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		return time.Duration(ns), err
	}
}

// sandboxC runs testdata/sandbox.c's bin for a batch; it reports the
// median of its own batch, as spawnC does.
func sandboxC(bin string) func(int) (time.Duration, error) {
	if bin == "" {
		return func(int) (time.Duration, error) { return 0, errUnavailable }
	}
	return func(n int) (time.Duration, error) {
		out, err := exec.Command(bin, strconv.Itoa(n)).Output()
		if err != nil {
			return 0, err
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		return time.Duration(ns), err
	}
}

func command(name string, args ...string) func(int) (time.Duration, error) {
	if _, err := exec.LookPath(name); name == "" || err != nil {
		return func(int) (time.Duration, error) { return 0, errUnavailable }
	}
	return func(n int) (time.Duration, error) {
		return timed(n, func() error {
			cmd := exec.Command(name, args...)
			cmd.Stdout = io.Discard
			return cmd.Run()
		})
	}
}

// containerProcess starts a sleeping process in every namespace kind but
// time.
func containerProcess() (*namespace.Process, error) {
	u, g := rootMaps()
	return namespace.Spawn(namespace.Options{
		Path: "/bin/sleep", Args: []string{"sleep", "3600"},
		New: namespace.All &^ namespace.Time, UIDMap: u, GIDMap: g, MountProc: true,
	})
}

// container starts a sleeping process in every namespace kind but time, and
// pins its namespaces.
func container() (*namespace.Process, *namespace.Handle, error) {
	p, err := containerProcess()
	if err != nil {
		return nil, nil, err
	}
	h, err := namespace.Join(p.Pid, namespace.All)
	if err != nil {
		p.Kill()
		p.Wait()
		return nil, nil, err
	}
	return p, h, nil
}

// bind names h's network namespace in a temporary directory, for CNI's
// GetNS, which takes a path.
func bind(h *namespace.Handle) (path string, unbind func(), err error) {
	dir, err := os.MkdirTemp("", "nsgo-bench")
	if err != nil {
		return "", nil, err
	}
	path = filepath.Join(dir, "net")
	unbind = func() {
		namespace.Unbind(path)
		// Bind made the directory a mount point of its own.
		unix.Unmount(dir, unix.MNT_DETACH)
		os.RemoveAll(dir)
	}
	if err := h.Bind(namespace.Net, path); err != nil {
		unbind()
		return "", nil, err
	}
	return path, unbind, nil
}

// rawSetns enters the namespace at path and returns, on one locked thread,
// with nothing checked: the floor of what Do can cost.
func rawSetns(path string) func(int) (time.Duration, error) {
	return func(n int) (time.Duration, error) {
		var d time.Duration
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			runtime.LockOSThread() // exits locked: the thread is discarded
			var target, self int
			if target, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
				return
			}
			defer unix.Close(target)
			if self, err = unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
				return
			}
			defer unix.Close(self)
			d, err = timed(n, func() error {
				if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
					return err
				}
				return unix.Setns(self, unix.CLONE_NEWNET)
			})
		}()
		<-done
		return d, err
	}
}

// joinViaProc is Join as it was before Linux 6.11's pidfd ioctls, and as
// nsgo still does where the kernel lacks them: a pidfd, then every
// /proc/PID/ns/KIND opened and identified (fstat), then a check through the
// pidfd that the process still lives; and the release of it all.
func joinViaProc(pid int, kinds namespace.Kind) func(int) (time.Duration, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/ns/"
	return func(n int) (time.Duration, error) {
		return timed(n, func() error {
			pidfd, err := unix.PidfdOpen(pid, 0)
			if err != nil {
				return err
			}
			fds := map[namespace.Kind]int{}
			ids := map[namespace.Kind]procfs.ID{}
			defer func() {
				for _, fd := range fds {
					unix.Close(fd)
				}
				unix.Close(pidfd)
			}()
			for k := range kinds.Each() {
				fd, err := unix.Open(dir+k.String(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					return err
				}
				fds[k] = fd
				var st unix.Stat_t
				if err := unix.Fstat(fd, &st); err != nil {
					return err
				}
				ids[k] = procfs.ID{Dev: st.Dev, Ino: st.Ino}
			}
			poll := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
			if n, err := unix.Poll(poll, 0); err != nil || n != 0 {
				return fmt.Errorf("the process exited: %v", err)
			}
			return nil
		})
	}
}

// joinRaw is the least a Join through the pidfd can cost: the system
// calls alone, no Handle, no identities, one close_range.
func joinRaw(pid int) func(int) (time.Duration, error) {
	reqs := []uintptr{unix.PIDFD_GET_MNT_NAMESPACE, unix.PIDFD_GET_UTS_NAMESPACE, unix.PIDFD_GET_IPC_NAMESPACE,
		unix.PIDFD_GET_NET_NAMESPACE, unix.PIDFD_GET_PID_NAMESPACE, unix.PIDFD_GET_CGROUP_NAMESPACE}
	return func(n int) (time.Duration, error) {
		return timed(n, func() error {
			pidfd, err := unix.PidfdOpen(pid, 0)
			if err != nil {
				return err
			}
			var fds [7]int
			fds[0] = pidfd
			n, lo, hi := 1, pidfd, pidfd
			defer func() {
				if hi-lo+1 == n { // only this call's descriptors in the range
					unix.CloseRange(uint(lo), uint(hi), 0)
					return
				}
				for _, fd := range fds[:n] {
					unix.Close(fd)
				}
			}()
			for _, r := range reqs {
				fd, _, e := unix.RawSyscall(unix.SYS_IOCTL, uintptr(pidfd), r, 0)
				if e != 0 {
					return e
				}
				fds[n], n = int(fd), n+1
				lo, hi = min(lo, int(fd)), max(hi, int(fd))
			}
			return nil
		})
	}
}

// cell escapes the "|" of kind sets for a Markdown table.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func kernel() string {
	var u unix.Utsname
	unix.Uname(&u)
	return unix.ByteSliceToString(u.Release[:])
}

// bwrapArgs is the sandbox for bwrap.
var bwrapArgs = []string{"--unshare-all", "--uid", "0", "--gid", "0",
	"--ro-bind", "/usr", "/usr", "--ro-bind", "/bin", "/bin", "--ro-bind", "/lib", "/lib",
	"--ro-bind", "/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "/bin/true"}

// unshareAllArgs makes the namespaces of bwrapArgs with util-linux unshare,
// root mapped to the caller, and runs /bin/true there: no mounts but /proc.
var unshareAllArgs = []string{"--user", "--map-root-user", "--mount", "--pid", "--fork", "--mount-proc",
	"--ipc", "--uts", "--net", "--cgroup", "/bin/true"}

// sandboxNSGo spawns /bin/true in the sandbox that bwrapArgs describe:
// the same namespaces (--unshare-all: user, mount, PID, IPC, UTS, network,
// cgroup), uid and gid 0 mapped to the caller's, and the same mounts.
func sandboxNSGo() func(int) (time.Duration, error) {
	ro := uintptr(unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_REC)
	mounts := []namespace.MountSpec{{Source: "tmpfs", Target: "/", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV}}
	for _, dir := range []string{"/usr", "/bin", "/lib", "/lib64"} {
		mounts = append(mounts, namespace.MountSpec{Source: dir, Target: dir, Type: "bind", Flags: ro})
	}
	mounts = append(mounts, namespace.DevMounts("/dev")...)
	mounts = append(mounts, namespace.MountSpec{Source: "tmpfs", Target: "/tmp", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_NODEV})
	opts := namespace.Options{
		Path:      "/bin/true",
		New:       namespace.User | namespace.Mount | namespace.PID | namespace.IPC | namespace.UTS | namespace.Net | namespace.Cgroup,
		UIDMap:    idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}},
		GIDMap:    idmap.Map{{Inside: 0, Outside: uint32(os.Getgid()), Count: 1}},
		Mounts:    mounts,
		MountProc: true,
	}
	return func(n int) (time.Duration, error) {
		return timed(n, func() error { return wait(namespace.Spawn(opts)) })
	}
}
