package namespace_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// The privileges family: capabilities, no_new_privs, seccomp, resource
// limits and Credential.NoSetGroups. Each test runs on every child path
// (vfork, own stack, copy) and, through TestUnprivileged, as uid 65534; it
// checks the program from outside, in /proc/PID/status and /proc/PID/limits
// while it waits on its standard input, and side by side with util-linux's
// setpriv and prlimit where they are installed.

// capFields are the capability lines of /proc/PID/status.
var capFields = []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}

// procStatus returns the fields of /proc/PID/status.
func procStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	return statusFields(string(b))
}

// statusFields parses lines "Name:\tvalue" as /proc/PID/status has them.
func statusFields(text string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// capsOf returns the capability sets of status fields, as a map from
// field to set.
func capsOf(t *testing.T, status map[string]string) map[string]namespace.CapSet {
	t.Helper()
	m := map[string]namespace.CapSet{}
	for _, f := range capFields {
		v, err := strconv.ParseUint(status[f], 16, 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", f, status[f], err)
		}
		m[f] = namespace.CapSet(v)
	}
	return m
}

// wantCaps is the five sets, in the order of capFields.
func wantCaps(inh, prm, eff, bnd, amb namespace.CapSet) map[string]namespace.CapSet {
	return map[string]namespace.CapSet{"CapInh": inh, "CapPrm": prm, "CapEff": eff, "CapBnd": bnd, "CapAmb": amb}
}

func capsEqual(a, b map[string]namespace.CapSet) bool {
	for _, f := range capFields {
		if a[f] != b[f] {
			return false
		}
	}
	return true
}

// eachPath runs fn on every child path.
func eachPath(t *testing.T, fn func(t *testing.T)) {
	for _, path := range namespace.ChildPaths {
		t.Run(path, func(t *testing.T) {
			skipOwnStackUnderRaceCover(t, path)
			old := namespace.SetChildPath(path)
			defer namespace.SetChildPath(old)
			fn(t)
		})
	}
}

// ownCaps returns the calling thread's capability sets, from its status.
func ownCaps(t *testing.T) map[string]namespace.CapSet {
	t.Helper()
	b, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		t.Fatal(err)
	}
	return capsOf(t, statusFields(string(b)))
}

// peerCaps runs util-linux setpriv (after the command in prefix, such as
// unshare) with args and returns the capability sets of the program it
// runs, or skips without setpriv.
func peerCaps(t *testing.T, prefix []string, args ...string) map[string]namespace.CapSet {
	t.Helper()
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("no setpriv to compare with")
	}
	argv := append(append(append([]string(nil), prefix...), "setpriv"), args...)
	argv = append(argv, "cat", "/proc/self/status")
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%q: %v\n%s", argv, err, out)
	}
	return capsOf(t, statusFields(string(out)))
}

// checkCaps checks the program's sets from outside and from inside (the
// script's grep, a program that the shell runs, which a further execve
// gives the same sets), against want.
func checkCaps(t *testing.T, opts namespace.Options, want map[string]namespace.CapSet) map[string]string {
	t.Helper()
	pp := startWaiting(t, opts, "grep -E '^(Cap|NoNewPrivs|Uid|Gid|Groups)' /proc/self/status")
	status := procStatus(t, pp.p.Pid)
	outside := capsOf(t, status)
	inside := capsOf(t, statusFields(pp.finish(t)))
	if !capsEqual(outside, want) {
		t.Errorf("/proc/%d/status: %v, want %v", pp.p.Pid, outside, want)
	}
	if !capsEqual(inside, want) {
		t.Errorf("the program's own program: %v, want %v", inside, want)
	}
	return status
}

var (
	netAdmin = namespace.Cap(unix.CAP_NET_ADMIN)
	netBind  = namespace.Cap(unix.CAP_NET_BIND_SERVICE)
	netRaw   = namespace.Cap(unix.CAP_NET_RAW)
	sysAdmin = namespace.Cap(unix.CAP_SYS_ADMIN)
)

// TestCapNames checks the names against the kernel's numbers, against
// libcap's (capsh --decode), and the parsing of names.
func TestCapNames(t *testing.T) {
	last, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(last)))
	if got := namespace.AllCaps(); got != namespace.CapSet(1)<<(n+1)-1 {
		t.Errorf("AllCaps() = %#x, cap_last_cap %d", uint64(got), n)
	}
	for _, c := range []struct {
		c    namespace.Cap
		name string
	}{{unix.CAP_CHOWN, "CAP_CHOWN"}, {unix.CAP_NET_ADMIN, "CAP_NET_ADMIN"}, {unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
		{unix.CAP_BPF, "CAP_BPF"}, {unix.CAP_CHECKPOINT_RESTORE, "CAP_CHECKPOINT_RESTORE"}, {41, "CAP_41"}} {
		if got := c.c.String(); got != c.name {
			t.Errorf("Cap(%d).String() = %q, want %q", int(c.c), got, c.name)
		}
	}
	if capsh, err := exec.LookPath("capsh"); err == nil {
		all := namespace.CapSet(1)<<(unix.CAP_CHECKPOINT_RESTORE+1) - 1
		out, err := exec.Command(capsh, fmt.Sprintf("--decode=%#x", uint64(all))).Output()
		if err != nil {
			t.Fatal(err)
		}
		_, theirs, _ := strings.Cut(strings.TrimSpace(string(out)), "=")
		if ours := strings.ToLower(all.String()); ours != theirs {
			t.Errorf("names:\n ours  %s\n capsh %s", ours, theirs)
		}
	}
	for _, name := range []string{"CAP_NET_ADMIN", "net_admin", "Cap_Net_Admin", " NET_ADMIN ", "12", "cap_12"} {
		if c, err := namespace.ParseCap(name); err != nil || c != netAdmin {
			t.Errorf("ParseCap(%q) = %v, %v; want CAP_NET_ADMIN", name, c, err)
		}
	}
	for _, name := range []string{"", "net_admn", "CAP_", "64", "cap_-1", "CAP_NET_ADMIN,CAP_CHOWN"} {
		if c, err := namespace.ParseCap(name); !errors.Is(err, namespace.ErrUnknownCap) || !strings.Contains(err.Error(), strconv.Quote(name)) {
			t.Errorf("ParseCap(%q) = %v, %v; want ErrUnknownCap naming it", name, c, err)
		}
	}
	s, err := namespace.ParseCaps("net_admin, CAP_NET_BIND_SERVICE", "", "sys_admin")
	if want := namespace.Caps(netAdmin, netBind, sysAdmin); err != nil || s != want {
		t.Errorf("ParseCaps = %v, %v; want %v", s, err, want)
	}
	if s.String() != "CAP_NET_BIND_SERVICE,CAP_NET_ADMIN,CAP_SYS_ADMIN" {
		t.Errorf("String() = %q", s.String())
	}
	if all, err := namespace.ParseCaps("ALL"); err != nil || all != namespace.AllCaps() {
		t.Errorf("ParseCaps(ALL) = %v, %v", all, err)
	}
	if _, err := namespace.ParseCaps("net_admin,bogus"); !errors.Is(err, namespace.ErrUnknownCap) || !strings.Contains(err.Error(), `"bogus"`) {
		t.Errorf("ParseCaps with a bad name: %v", err)
	}
	if d := namespace.AllCaps().Drop(netRaw); d.Has(netRaw) || !d.Has(netAdmin) || len(d.List()) != n {
		t.Errorf("AllCaps().Drop(CAP_NET_RAW) = %v", d)
	}
}

// TestCapsHostRoot drops host root's capabilities to a few, without a user
// namespace, side by side with setpriv.
func TestCapsHostRoot(t *testing.T) {
	if !privileged {
		t.Skip("host root's capabilities: needs root")
	}
	few := namespace.Caps(netAdmin, netBind)
	eachPath(t, func(t *testing.T) {
		t.Run("bounding", func(t *testing.T) {
			// As Docker: the bounding set is what root keeps, nothing
			// inheritable or ambient.
			want := peerCaps(t, nil, "--bounding-set", "-all,+net_admin,+net_bind_service")
			if !capsEqual(want, wantCaps(0, few, few, few, 0)) {
				t.Fatalf("setpriv gives %v", want)
			}
			checkCaps(t, namespace.Options{Capabilities: &namespace.Capabilities{Bounding: few, Permitted: few, Effective: few}}, want)
		})
		t.Run("KeepCaps", func(t *testing.T) {
			want := peerCaps(t, nil, "--bounding-set", "-all,+net_admin,+net_bind_service",
				"--inh-caps", "-all,+net_admin,+net_bind_service", "--ambient-caps", "-all,+net_admin,+net_bind_service")
			if !capsEqual(want, wantCaps(few, few, few, few, few)) {
				t.Fatalf("setpriv gives %v", want)
			}
			checkCaps(t, namespace.Options{Capabilities: namespace.KeepCaps(few)}, want)
		})
		t.Run("DropCaps", func(t *testing.T) {
			// All but CAP_NET_RAW of what this root holds (here a
			// container's root may lack some: IgnoreMissing).
			held := ownCaps(t)["CapBnd"] &^ namespace.Caps(netRaw)
			peer := peerCaps(t, nil, "--bounding-set", "-net_raw")
			if peer["CapBnd"] != held || peer["CapPrm"] != held {
				t.Fatalf("setpriv gives %v, want bounding and permitted %v", peer, held)
			}
			checkCaps(t, namespace.Options{Capabilities: namespace.DropCaps(netRaw)}, wantCaps(held, held, held, held, held))
		})
		t.Run("none", func(t *testing.T) {
			checkCaps(t, namespace.Options{Capabilities: &namespace.Capabilities{}}, wantCaps(0, 0, 0, 0, 0))
		})
		t.Run("nil", func(t *testing.T) {
			// Nil leaves them to the kernel, as before: root's.
			own := ownCaps(t)
			checkCaps(t, namespace.Options{}, wantCaps(own["CapInh"], own["CapBnd"]|own["CapInh"], own["CapBnd"]|own["CapInh"], own["CapBnd"], 0))
		})
	})
}

// TestCapsUserNS drops the capabilities of the root of a new user
// namespace, as root and as uid 65534, side by side with unshare -r
// setpriv.
func TestCapsUserNS(t *testing.T) {
	uidMap, gidMap := ownMaps()
	base := namespace.Options{New: namespace.User | namespace.PID | namespace.Mount, UIDMap: uidMap, GIDMap: gidMap, SetGroups: idmap.Deny}
	two := namespace.Caps(netAdmin, sysAdmin)
	all := namespace.AllCaps()
	unshare := []string{"unshare", "--map-root-user"}
	eachPath(t, func(t *testing.T) {
		t.Run("KeepCaps", func(t *testing.T) {
			want := peerCaps(t, unshare, "--bounding-set", "-all,+net_admin,+sys_admin",
				"--inh-caps", "-all,+net_admin,+sys_admin", "--ambient-caps", "-all,+net_admin,+sys_admin")
			if !capsEqual(want, wantCaps(two, two, two, two, two)) {
				t.Fatalf("setpriv gives %v", want)
			}
			opts := base
			opts.Capabilities = namespace.KeepCaps(two)
			checkCaps(t, opts, want)
		})
		t.Run("DropCaps", func(t *testing.T) {
			// The root of a new user namespace holds every capability: all
			// but CAP_NET_RAW.
			d := all &^ namespace.Caps(netRaw)
			opts := base
			opts.Capabilities = namespace.DropCaps(netRaw)
			checkCaps(t, opts, wantCaps(d, d, d, d, d))
		})
		t.Run("none", func(t *testing.T) {
			want := peerCaps(t, unshare, "--bounding-set", "-all", "--inh-caps", "-all")
			opts := base
			opts.Capabilities = &namespace.Capabilities{}
			checkCaps(t, opts, want)
		})
		t.Run("nil", func(t *testing.T) {
			opts := base
			checkCaps(t, opts, wantCaps(0, all, all, all, 0))
		})
	})
}

// TestCapsAmbient gives a program that does not run as root
// CAP_NET_BIND_SERVICE through the ambient set: it keeps it after execve,
// and so does a program it runs, which binds port 80 in a new network
// namespace. From host root as uid 1000, side by side with setpriv; from
// the root of a new user namespace that maps uid 1000; and as the unmapped
// user of a new user namespace without maps, which uid 65534 can make.
func TestCapsAmbient(t *testing.T) {
	bind := namespace.Caps(netBind)
	all := wantCaps(bind, bind, bind, bind, bind)
	// bindScript prints whether a program that the shell runs may bind
	// port 80.
	bindScript := "grep -E '^(Cap|Uid)' /proc/self/status"
	perl, _ := exec.LookPath("/usr/bin/perl")
	if perl != "" {
		bindScript += `; ` + perl + ` -MSocket -e 'socket(S, PF_INET, SOCK_STREAM, 0) or die; bind(S, pack_sockaddr_in(80, INADDR_ANY)) or die "bind: $!\n"; print "bound 80\n"'`
	}
	check := func(t *testing.T, opts namespace.Options, want map[string]namespace.CapSet, canBind bool) {
		t.Helper()
		pp := startWaiting(t, opts, bindScript)
		got := capsOf(t, procStatus(t, pp.p.Pid))
		pp.in.WriteString("\n")
		pp.in.Close()
		pp.p.Wait()
		out := pp.out.String()
		if !capsEqual(got, want) {
			t.Errorf("/proc/%d/status: %v, want %v", pp.p.Pid, got, want)
		}
		if inside := capsOf(t, statusFields(out)); !capsEqual(inside, want) {
			t.Errorf("the program's own program: %v, want %v", inside, want)
		}
		if perl != "" && strings.Contains(out, "bound 80") != canBind {
			t.Errorf("bind port 80: want %v:\n%s", canBind, out)
		}
	}
	eachPath(t, func(t *testing.T) {
		t.Run("host", func(t *testing.T) {
			if !privileged {
				t.Skip("a Credential of uid 1000 without a user namespace needs root")
			}
			want := peerCaps(t, nil, "--reuid", "1000", "--regid", "1000", "--clear-groups", "--bounding-set", "-all,+net_bind_service",
				"--inh-caps", "-all,+net_bind_service", "--ambient-caps", "-all,+net_bind_service")
			if !capsEqual(want, all) {
				t.Fatalf("setpriv gives %v", want)
			}
			opts := namespace.Options{New: namespace.Net, Credential: &namespace.Credential{UID: 1000, GID: 1000}, Capabilities: namespace.KeepCaps(bind)}
			check(t, opts, want, true)
			st := checkCaps(t, opts, want)
			if !strings.HasPrefix(st["Uid"], "1000\t1000\t1000") {
				t.Errorf("Uid %q, want 1000", st["Uid"])
			}
			// Inheritable alone: nothing to use, but a file whose
			// inheritable file capabilities hold CAP_NET_BIND_SERVICE
			// would give it.
			check(t, namespace.Options{New: namespace.Net, Credential: &namespace.Credential{UID: 1000, GID: 1000},
				Capabilities: &namespace.Capabilities{Bounding: bind, Inheritable: bind}}, wantCaps(bind, 0, 0, bind, 0), false)
			// The same user without Capabilities keeps nothing, as before.
			own := ownCaps(t)
			opts.Capabilities = nil
			check(t, opts, wantCaps(own["CapInh"], 0, 0, own["CapBnd"], 0), false)
		})
		t.Run("userns", func(t *testing.T) {
			if !privileged {
				t.Skip("a map with uid 1000 needs root (or newuidmap)")
			}
			uidMap, gidMap := rootMaps()
			check(t, namespace.Options{New: namespace.User | namespace.Net, UIDMap: uidMap, GIDMap: gidMap,
				Credential:   &namespace.Credential{UID: 1000, GID: 1000},
				Capabilities: namespace.KeepCaps(bind)}, all, true)
		})
		t.Run("unmapped", func(t *testing.T) {
			opts := namespace.Options{New: namespace.User | namespace.Net, Capabilities: namespace.KeepCaps(bind)}
			check(t, opts, all, true)
			opts.Capabilities = nil
			check(t, opts, wantCaps(0, 0, 0, namespace.AllCaps(), 0), false)
		})
	})
}

// TestNoSetGroups passes a Credential that leaves the supplementary groups
// as they are: one that sets them fails with EPERM as uid 65534, one with
// NoSetGroups works and the program has the caller's groups.
func TestNoSetGroups(t *testing.T) {
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	ownGroups := statusFields(string(must(os.ReadFile("/proc/self/status"))))["Groups"]
	eachPath(t, func(t *testing.T) {
		before := takeCounts(t)
		err := waitOK(namespace.Spawn(namespace.Options{Path: "/bin/true", Credential: &namespace.Credential{UID: uid, GID: gid}}))
		if privileged {
			if err != nil {
				t.Fatalf("as root, a Credential that sets groups: %v", err)
			}
		} else {
			var ce *namespace.ChildError
			if !errors.As(err, &ce) || !errors.Is(err, syscall.EPERM) || ce.Step != "setgroups" {
				t.Errorf("as uid %d, a Credential that sets groups: %v; want the child's setgroups EPERM", uid, err)
			}
		}
		checkNoLeak(t, before)
		pp := startWaiting(t, namespace.Options{Credential: &namespace.Credential{UID: uid, GID: gid, NoSetGroups: true}}, "exit 0")
		st := procStatus(t, pp.p.Pid)
		pp.finish(t)
		if st["Groups"] != ownGroups {
			t.Errorf("Groups %q, want the caller's %q", st["Groups"], ownGroups)
		}
		if !strings.HasPrefix(st["Uid"], fmt.Sprint(uid)+"\t") || !strings.HasPrefix(st["Gid"], fmt.Sprint(gid)+"\t") {
			t.Errorf("Uid %q Gid %q, want %d and %d", st["Uid"], st["Gid"], uid, gid)
		}
	})
	// Groups with NoSetGroups contradict each other.
	before := takeCounts(t)
	_, err := namespace.Spawn(namespace.Options{Path: "/bin/true", Credential: &namespace.Credential{UID: uid, GID: gid, Groups: []uint32{gid}, NoSetGroups: true}})
	if err == nil || !strings.Contains(err.Error(), "NoSetGroups") {
		t.Errorf("Groups with NoSetGroups: %v", err)
	}
	checkNoLeak(t, before)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestNoNewPrivs sets no_new_privs, with and without a user namespace.
func TestNoNewPrivs(t *testing.T) {
	own := statusFields(string(must(os.ReadFile("/proc/self/status"))))["NoNewPrivs"]
	uidMap, gidMap := ownMaps()
	eachPath(t, func(t *testing.T) {
		for _, c := range []struct {
			name string
			opts namespace.Options
		}{
			{"plain", namespace.Options{}},
			{"userns", namespace.Options{New: namespace.User, UIDMap: uidMap, GIDMap: gidMap, SetGroups: idmap.Deny}},
		} {
			t.Run(c.name, func(t *testing.T) {
				for _, on := range []bool{false, true} {
					opts := c.opts
					opts.NoNewPrivs = on
					pp := startWaiting(t, opts, "exit 0")
					got := procStatus(t, pp.p.Pid)["NoNewPrivs"]
					pp.finish(t)
					want := own
					if on {
						want = "1"
					}
					if got != want {
						t.Errorf("NoNewPrivs %v: status says %q, want %q", on, got, want)
					}
				}
			})
		}
	})
}

// errnoFilter returns a seccomp program that answers system call nr with
// errno on x86-64 and allows everything else.
func errnoFilter(nr uint32, errno syscall.Errno) []unix.SockFilter {
	return []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 4}, // arch
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 3, K: unix.AUDIT_ARCH_X86_64},
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: nr},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(errno)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
}

// ownFilters is how many seccomp filters this process runs under (the CI's
// clone3 launcher adds one).
func ownFilters(t *testing.T) int {
	n, _ := strconv.Atoi(statusFields(string(must(os.ReadFile("/proc/self/status"))))["Seccomp_filters"])
	return n
}

// TestSeccomp installs a filter that answers uname(2) with EPERM: the
// program and what it runs see it; /proc/PID/status shows filter mode and
// one filter more than the caller's.
func TestSeccomp(t *testing.T) {
	if unix.SYS_UNAME != 63 {
		t.Skip("the filter is x86-64's")
	}
	filters := ownFilters(t)
	uidMap, gidMap := ownMaps()
	eachPath(t, func(t *testing.T) {
		for _, c := range []struct {
			name string
			opts namespace.Options
		}{
			{"plain", namespace.Options{NoNewPrivs: true}},
			{"userns", namespace.Options{New: namespace.User, UIDMap: uidMap, GIDMap: gidMap, SetGroups: idmap.Deny}}, // CAP_SYS_ADMIN there
			{"userns+caps", namespace.Options{New: namespace.User, UIDMap: uidMap, GIDMap: gidMap, SetGroups: idmap.Deny, NoNewPrivs: true,
				Capabilities: &namespace.Capabilities{}}},
		} {
			t.Run(c.name, func(t *testing.T) {
				opts := c.opts
				opts.Seccomp = errnoFilter(unix.SYS_UNAME, unix.EPERM)
				pp := startWaiting(t, opts, "uname; echo status $?")
				st := procStatus(t, pp.p.Pid)
				out := pp.finish(t)
				if st["Seccomp"] != "2" || st["Seccomp_filters"] != strconv.Itoa(filters+1) {
					t.Errorf("Seccomp %q, Seccomp_filters %q; want 2 and %d", st["Seccomp"], st["Seccomp_filters"], filters+1)
				}
				if !strings.Contains(out, "Operation not permitted") || !strings.Contains(out, "status 1") {
					t.Errorf("uname under the filter:\n%s", out)
				}
			})
		}
		// Without a filter, uname works: the filter did it.
		pp := startWaiting(t, namespace.Options{}, "uname")
		if out := pp.finish(t); !strings.Contains(out, "Linux") {
			t.Errorf("uname: %q", out)
		}
	})
}

// TestSeccompNeedsNoNewPrivs: without no_new_privs, a filter needs
// CAP_SYS_ADMIN where the child installs it; its absence is an error before
// any clone that says so.
func TestSeccompNeedsNoNewPrivs(t *testing.T) {
	if nnp := statusFields(string(must(os.ReadFile("/proc/self/status"))))["NoNewPrivs"]; nnp == "1" {
		t.Skip("this process has no_new_privs already (the clone3 seccomp launcher): the kernel takes any filter")
	}
	filter := errnoFilter(unix.SYS_UNAME, unix.EPERM)
	// Capabilities without CAP_SYS_ADMIN: root drops them all; another
	// user, who may not drop its bounding set, keeps that.
	none := &namespace.Capabilities{}
	if !privileged {
		none.Bounding = ownCaps(t)["CapBnd"]
	}
	cases := []struct {
		name string
		opts namespace.Options
	}{
		{"caps without CAP_SYS_ADMIN", namespace.Options{Capabilities: none}},
	}
	if privileged {
		cases = append(cases, struct {
			name string
			opts namespace.Options
		}{"uid 1000", namespace.Options{Credential: &namespace.Credential{UID: 1000, GID: 1000}}})
	} else {
		cases = append(cases, struct {
			name string
			opts namespace.Options
		}{"uid 65534", namespace.Options{}})
	}
	eachPath(t, func(t *testing.T) {
		for _, c := range cases {
			before := takeCounts(t)
			opts := c.opts
			opts.Path, opts.Seccomp = "/bin/true", filter
			_, err := namespace.Spawn(opts)
			if err == nil || !strings.Contains(err.Error(), "Seccomp filter needs NoNewPrivs") || !errors.Is(err, os.ErrPermission) {
				t.Errorf("%s: %v; want an error that asks for NoNewPrivs", c.name, err)
			}
			var ce *namespace.ChildError
			if errors.As(err, &ce) {
				t.Errorf("%s: a child was made: %v", c.name, err)
			}
			checkNoLeak(t, before)
		}
		if privileged {
			// Host root has CAP_SYS_ADMIN: no NoNewPrivs needed.
			pp := startWaiting(t, namespace.Options{Seccomp: filter}, "uname; echo status $?")
			st := procStatus(t, pp.p.Pid)
			if out := pp.finish(t); st["Seccomp"] != "2" || st["NoNewPrivs"] != "0" || !strings.Contains(out, "status 1") {
				t.Errorf("root's filter without NoNewPrivs: Seccomp %q NoNewPrivs %q\n%s", st["Seccomp"], st["NoNewPrivs"], out)
			}
		}
	})
}

// TestSeccompRejected gives programs that the kernel refuses, and some it
// takes: the parent's check agrees with the kernel's on each, before any
// clone, and with the check off the child reports the kernel's EINVAL.
func TestSeccompRejected(t *testing.T) {
	ld := func(k uint32) unix.SockFilter {
		return unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: k}
	}
	ret := unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}
	jeq := func(jt, jf uint8) unix.SockFilter {
		return unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: jt, Jf: jf}
	}
	long := make([]unix.SockFilter, 4097)
	for i := range long {
		long[i] = ret
	}
	cases := []struct {
		name string
		prog []unix.SockFilter
		bad  string // the parent's error says this; "" for a good program
	}{
		{"bad jump", []unix.SockFilter{ld(0), jeq(5, 0), ret}, "instruction 1 jumps to 7"},
		{"bad ja", []unix.SockFilter{{Code: unix.BPF_JMP | unix.BPF_JA, K: 1}, ret}, "instruction 0 jumps to 2"},
		{"no return", []unix.SockFilter{ld(0)}, "does not return"},
		{"load past seccomp_data", []unix.SockFilter{ld(64), ret}, "outside struct seccomp_data"},
		{"unaligned load", []unix.SockFilter{ld(2), ret}, "aligned"},
		{"division by zero", []unix.SockFilter{{Code: unix.BPF_ALU | unix.BPF_DIV | unix.BPF_K}, ret}, "division by zero"},
		{"shift", []unix.SockFilter{{Code: unix.BPF_ALU | unix.BPF_LSH | unix.BPF_K, K: 32}, ret}, "shift"},
		{"memory unset", []unix.SockFilter{{Code: unix.BPF_LD | unix.BPF_MEM, K: 3}, ret}, "memory word 3"},
		{"memory unset on a path", []unix.SockFilter{ld(0), jeq(0, 1), {Code: unix.BPF_ST, K: 3}, {Code: unix.BPF_LD | unix.BPF_MEM, K: 3}, ret}, "memory word 3"},
		{"memory unset on the true path", []unix.SockFilter{ld(0), jeq(1, 0), {Code: unix.BPF_ST, K: 3}, {Code: unix.BPF_LD | unix.BPF_MEM, K: 3}, ret}, "memory word 3"},
		{"memory unset after ja", []unix.SockFilter{{Code: unix.BPF_JMP | unix.BPF_JA, K: 1}, {Code: unix.BPF_ST, K: 3}, {Code: unix.BPF_LD | unix.BPF_MEM, K: 3}, ret}, "memory word 3"},
		{"memory 16", []unix.SockFilter{{Code: unix.BPF_ST, K: 16}, ret}, "memory word past"},
		{"ancillary load", []unix.SockFilter{ld(0xfffff000), ret}, "outside struct seccomp_data"},
		{"mod", []unix.SockFilter{{Code: unix.BPF_ALU | 0x90 | unix.BPF_K, K: 3}, ret}, "seccomp does not take"},
		{"too long", long, "more than the kernel's 4096"},
		{"good", errnoFilter(unix.SYS_UNAME, unix.EPERM), ""},
		{"good memory", []unix.SockFilter{ld(0), {Code: unix.BPF_ST, K: 3}, jeq(0, 0), {Code: unix.BPF_LD | unix.BPF_MEM, K: 3}, ret}, ""},
		{"good alu", []unix.SockFilter{ld(4), {Code: unix.BPF_ALU | unix.BPF_RSH | unix.BPF_K, K: 31}, {Code: unix.BPF_MISC | unix.BPF_TAX}, {Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}, ""},
	}
	eachPath(t, func(t *testing.T) {
		for _, c := range cases {
			for _, check := range []bool{true, false} {
				old := namespace.SetSeccompCheck(check)
				before := takeCounts(t)
				err := waitOK(namespace.Spawn(namespace.Options{Path: "/bin/true", NoNewPrivs: true, Seccomp: c.prog}))
				namespace.SetSeccompCheck(old)
				if err != nil && strings.Contains(err.Error(), ": test: ") {
					t.Skip(err)
				}
				var ce *namespace.ChildError
				switch {
				case c.bad == "" && err != nil:
					t.Errorf("%s (check %v): %v", c.name, check, err)
				case c.bad == "":
				case check && (err == nil || !strings.Contains(err.Error(), "Seccomp: ") || !strings.Contains(err.Error(), c.bad) || !errors.Is(err, syscall.EINVAL) || errors.As(err, &ce)):
					t.Errorf("%s: %v; want an error before any clone naming %q", c.name, err, c.bad)
				case !check && (!errors.As(err, &ce) || !strings.Contains(ce.Step, "install the seccomp filter") || !errors.Is(err, syscall.EINVAL)):
					t.Errorf("%s without the parent's check: %v; want the kernel's EINVAL from the child", c.name, err)
				}
				checkNoLeak(t, before)
			}
		}
	})
}

// TestRlimits sets limits and reads them in /proc/PID/limits, side by side
// with util-linux prlimit.
func TestRlimits(t *testing.T) {
	var nofile unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile); err != nil {
		t.Fatal(err)
	}
	soft, hard := min(nofile.Max, 100), min(nofile.Max, 200)
	limits := []namespace.Rlimit{
		{Resource: unix.RLIMIT_NOFILE, Soft: soft, Hard: hard},
		{Resource: unix.RLIMIT_CORE, Soft: 0, Hard: 0},
		{Resource: unix.RLIMIT_NOFILE, Soft: soft - 1, Hard: hard}, // in order: the last wins
	}
	lines := func(text string) []string {
		var out []string
		for _, l := range strings.Split(text, "\n") {
			if strings.HasPrefix(l, "Max open files") || strings.HasPrefix(l, "Max core file size") {
				out = append(out, strings.Join(strings.Fields(l), " "))
			}
		}
		return out
	}
	var peer []string
	if _, err := exec.LookPath("prlimit"); err == nil {
		out, err := exec.Command("prlimit", fmt.Sprintf("--nofile=%d:%d", soft-1, hard), "--core=0:0", "cat", "/proc/self/limits").Output()
		if err != nil {
			t.Fatal(err)
		}
		peer = lines(string(out))
	}
	want := []string{"Max core file size 0 0 bytes", fmt.Sprintf("Max open files %d %d files", soft-1, hard)}
	uidMap, gidMap := ownMaps()
	eachPath(t, func(t *testing.T) {
		for _, c := range []struct {
			name string
			opts namespace.Options
		}{
			{"plain", namespace.Options{Rlimits: limits}},
			{"userns", namespace.Options{Rlimits: limits, New: namespace.User, UIDMap: uidMap, GIDMap: gidMap, SetGroups: idmap.Deny}},
		} {
			t.Run(c.name, func(t *testing.T) {
				pp := startWaiting(t, c.opts, "exit 0")
				got := lines(string(must(os.ReadFile(fmt.Sprintf("/proc/%d/limits", pp.p.Pid)))))
				pp.finish(t)
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("limits %q, want %q", got, want)
				}
				if peer != nil && strings.Join(got, "\n") != strings.Join(peer, "\n") {
					t.Errorf("limits %q, prlimit's %q", got, peer)
				}
			})
		}
	})
}

// TestPrivilegesBadInput: every bad option is an error before any clone
// that names it, with nothing left behind.
func TestPrivilegesBadInput(t *testing.T) {
	var nofile unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile); err != nil {
		t.Fatal(err)
	}
	hasCap := func(c namespace.Cap) bool { return ownCaps(t)["CapEff"].Has(c) }
	few := namespace.Caps(netAdmin, netBind)
	type bad struct {
		name string
		opts namespace.Options
		want string
		is   error
	}
	cases := []bad{
		{"soft above hard", namespace.Options{Rlimits: []namespace.Rlimit{{Resource: unix.RLIMIT_NOFILE, Soft: 20, Hard: 10}}},
			"Rlimits[0] (RLIMIT_NOFILE): soft limit 20 above hard limit 10", nil},
		{"unknown resource", namespace.Options{Rlimits: []namespace.Rlimit{{Resource: unix.RLIMIT_CORE, Hard: 1}, {Resource: 16}}},
			"Rlimits[1]: unknown resource 16", nil},
		{"negative resource", namespace.Options{Rlimits: []namespace.Rlimit{{Resource: -1}}}, "Rlimits[0]: unknown resource -1", nil},
		{"nofile above nr_open", namespace.Options{Rlimits: []namespace.Rlimit{{Resource: unix.RLIMIT_NOFILE, Soft: 1, Hard: unix.RLIM_INFINITY}}},
			"Rlimits[0] (RLIMIT_NOFILE): hard limit unlimited above the kernel's fs.nr_open", nil},
		{"effective differs", namespace.Options{Capabilities: &namespace.Capabilities{Bounding: few, Permitted: few, Effective: namespace.Caps(netAdmin)}},
			"Capabilities.Effective (CAP_NET_ADMIN) differs from Permitted", nil},
		{"ambient not inheritable", namespace.Options{Capabilities: &namespace.Capabilities{Bounding: few, Permitted: few, Effective: few, Inheritable: namespace.Caps(netAdmin), Ambient: few}},
			"Capabilities.Ambient has CAP_NET_BIND_SERVICE, not in Inheritable", nil},
		{"inheritable outside bounding", namespace.Options{Capabilities: &namespace.Capabilities{Bounding: namespace.Caps(netAdmin), Permitted: few, Effective: few, Inheritable: few}},
			"Capabilities.Inheritable has CAP_NET_BIND_SERVICE, not in Bounding", nil},
		{"unknown to the kernel", namespace.Options{Capabilities: namespace.KeepCaps(namespace.Caps(62))},
			"Capabilities.Bounding: CAP_62 unknown to this kernel", nil},
		{"seccomp bad jump", namespace.Options{NoNewPrivs: true, Seccomp: []unix.SockFilter{{Code: unix.BPF_JMP | unix.BPF_JA, K: 9}, {Code: unix.BPF_RET}}},
			"Seccomp: instruction 0 jumps to 10", syscall.EINVAL},
	}
	if hard := nofile.Max; hard < unix.RLIM_INFINITY-1 {
		raise := []namespace.Rlimit{{Resource: unix.RLIMIT_NOFILE, Soft: hard, Hard: hard + 1}}
		if !hasCap(unix.CAP_SYS_RESOURCE) {
			cases = append(cases, bad{"nofile above the hard limit", namespace.Options{Rlimits: raise},
				fmt.Sprintf("Rlimits[0] (RLIMIT_NOFILE): raising the hard limit from %d to %d needs CAP_SYS_RESOURCE in the initial user namespace, which the caller lacks", hard, hard+1), os.ErrPermission})
		}
		// The root of a new user namespace may not, whoever made it.
		uidMap, gidMap := ownMaps()
		cases = append(cases, bad{"nofile above the hard limit in a user namespace", namespace.Options{Rlimits: raise, New: namespace.User, UIDMap: uidMap, GIDMap: gidMap, SetGroups: idmap.Deny},
			fmt.Sprintf("Rlimits[0] (RLIMIT_NOFILE): raising the hard limit from %d to %d needs CAP_SYS_RESOURCE in the initial user namespace, which a child in a new or joined user namespace lacks", hard, hard+1), os.ErrPermission})
	}
	if privileged {
		// Host root: the program keeps its bounding set, so Permitted
		// must be that; a program of uid 1000 its ambient set.
		cases = append(cases,
			bad{"root permitted", namespace.Options{Capabilities: &namespace.Capabilities{Bounding: few, Permitted: namespace.Caps(netAdmin), Effective: namespace.Caps(netAdmin)}},
				"Capabilities.Permitted is CAP_NET_ADMIN, but a program that runs as root (user ID 0 in its user namespace) gets its bounding and inheritable sets at execve, CAP_NET_BIND_SERVICE,CAP_NET_ADMIN", nil},
			bad{"non-root permitted", namespace.Options{Credential: &namespace.Credential{UID: 1000, GID: 1000}, Capabilities: &namespace.Capabilities{Bounding: few, Permitted: few, Effective: few}},
				"Capabilities.Permitted is CAP_NET_BIND_SERVICE,CAP_NET_ADMIN, but a program that does not run as root gets its ambient set at execve, none", nil})
		if missing := namespace.AllCaps() &^ ownCaps(t)["CapBnd"]; missing != 0 {
			// A container's root whose bounding set lacks some: keeping
			// them exactly is an error, DropCaps leaves them out.
			cases = append(cases, bad{"missing from the bounding set", namespace.Options{Capabilities: namespace.KeepCaps(namespace.AllCaps())},
				"Capabilities.Bounding: " + missing.String() + ", which the caller's bounding set lacks", os.ErrPermission})
		}
	} else {
		cases = append(cases,
			bad{"drop without CAP_SETPCAP", namespace.Options{Capabilities: &namespace.Capabilities{}},
				"Capabilities.Bounding: dropping", os.ErrPermission},
			bad{"raise without holding", namespace.Options{Capabilities: namespace.KeepCaps(ownCaps(t)["CapBnd"]), NoNewPrivs: true},
				"Capabilities.Permitted: ", os.ErrPermission})
	}
	eachPath(t, func(t *testing.T) {
		for _, c := range cases {
			before := takeCounts(t)
			opts := c.opts
			opts.Path = "/bin/true"
			_, err := namespace.Spawn(opts)
			var ce *namespace.ChildError
			if err == nil || !strings.Contains(err.Error(), c.want) || errors.As(err, &ce) || c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("%s: %v\nwant an error before any clone with %q", c.name, err, c.want)
			}
			checkNoLeak(t, before)
		}
	})
}

// TestPrivilegesHandleSpawn sets every privilege option in a program that
// Handle.Spawn starts inside a container (the child enters its user
// namespace and forks the program into its PID namespace): the steps run
// in the program's process, after the second fork.
func TestPrivilegesHandleSpawn(t *testing.T) {
	if unix.SYS_UNAME != 63 {
		t.Skip("the filter is x86-64's")
	}
	c := target(t)
	h, err := namespace.Join(c.p.Pid, namespace.All)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	two := namespace.Caps(netAdmin, sysAdmin)
	filters := ownFilters(t)
	eachPath(t, func(t *testing.T) {
		before := takeCounts(t)
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		p, err := h.Spawn(namespace.Options{
			Path: "/bin/sh", Args: []string{"sh", "-c", "read x; echo $$; uname; echo status $?"},
			Stdin: r, Stdout: &out, Stderr: &out,
			Capabilities: namespace.KeepCaps(two),
			NoNewPrivs:   true,
			Seccomp:      errnoFilter(unix.SYS_UNAME, unix.EPERM),
			Rlimits:      []namespace.Rlimit{{Resource: unix.RLIMIT_CORE, Soft: 0, Hard: 0}},
		})
		r.Close()
		if err != nil {
			w.Close()
			if strings.Contains(err.Error(), ": test: ") {
				t.Skip(err)
			}
			t.Fatal(err)
		}
		st := procStatus(t, p.Pid)
		limits := string(must(os.ReadFile(fmt.Sprintf("/proc/%d/limits", p.Pid))))
		w.Close()
		if ws, err := p.Wait(); err != nil || !ws.Success() {
			t.Fatalf("program: %v %v\n%s", ws, err, out.String())
		}
		if got := capsOf(t, st); !capsEqual(got, wantCaps(two, two, two, two, two)) {
			t.Errorf("caps %v, want %v in every set", got, two)
		}
		if st["NoNewPrivs"] != "1" || st["Seccomp"] != "2" || st["Seccomp_filters"] != strconv.Itoa(filters+1) {
			t.Errorf("NoNewPrivs %q Seccomp %q filters %q", st["NoNewPrivs"], st["Seccomp"], st["Seccomp_filters"])
		}
		if !strings.Contains(limits, "Max core file size        0                    0") {
			t.Errorf("limits:\n%s", limits)
		}
		lines := strings.Split(out.String(), "\n")
		if pid, _ := strconv.Atoi(lines[0]); pid < 2 || !strings.Contains(out.String(), "Operation not permitted") || !strings.Contains(out.String(), "status 1") {
			t.Errorf("inside the container's PID namespace, uname refused:\n%s", out.String())
		}
		checkNoLeak(t, before)
	})
}

// TestSeccompRefusesExecve: the filter is in place when the child calls
// execve, the last step; a filter that refuses it fails the spawn, and the
// child's report still comes through.
func TestSeccompRefusesExecve(t *testing.T) {
	if unix.SYS_EXECVE != 59 {
		t.Skip("the filter is x86-64's")
	}
	eachPath(t, func(t *testing.T) {
		before := takeCounts(t)
		err := waitOK(namespace.Spawn(namespace.Options{Path: "/bin/true", NoNewPrivs: true, Seccomp: errnoFilter(unix.SYS_EXECVE, unix.EPERM)}))
		if err != nil && strings.Contains(err.Error(), ": test: ") {
			t.Skip(err)
		}
		var ce *namespace.ChildError
		if !errors.As(err, &ce) || ce.Step != "execve" || !errors.Is(err, syscall.EPERM) {
			t.Errorf("execve under a filter that refuses it: %v; want the child's execve EPERM", err)
		}
		checkNoLeak(t, before)
	})
}
