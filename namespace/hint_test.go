package namespace_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// The helpers of this file, run as the test binary re-run with
// NSGO_NAMESPACE_HELPER set, as TestMain runs those of main_test.go; init
// runs them before TestMain looks for its own.
func init() {
	helpers := map[string]func() error{"clone-limit": cloneLimitHelper}
	name := os.Getenv("NSGO_NAMESPACE_HELPER")
	if helpers[name] == nil {
		return
	}
	if err := helpers[name](); err != nil {
		fmt.Printf("%s: %v\n", name, err)
		os.Exit(1)
	}
	fmt.Printf("%s: ok\n", name)
	os.Exit(0)
}

// TestCloneEPERMHint creates namespaces without CAP_SYS_ADMIN and without a
// user namespace: the error says to add User, and that works.
func TestCloneEPERMHint(t *testing.T) {
	if privileged {
		t.Skip("root may create namespaces without a user namespace; the run as uid 65534 checks the hint")
	}
	_, err := namespace.Spawn(namespace.Options{Path: "/bin/true", New: namespace.UTS | namespace.Net})
	t.Log(err)
	want := "clone: operation not permitted (creating uts|net namespaces needs CAP_SYS_ADMIN; unprivileged callers add namespace.User to New)"
	if !errors.Is(err, unix.EPERM) || !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), want) {
		t.Errorf("Spawn(New: uts|net) as uid %d = %v, want EPERM with %q", os.Getuid(), err, want)
	}
	uidMap, gidMap := ownMaps()
	run(t, namespace.Options{New: namespace.UTS | namespace.Net | namespace.User, UIDMap: uidMap, GIDMap: gidMap}, "true")
}

// TestCloneENOSPCHint reaches the limits on namespaces, in a user namespace
// of a helper's own where it sets them: the error names the limit.
func TestCloneENOSPCHint(t *testing.T) {
	var out strings.Builder
	opts := namespace.Options{
		Path: "/proc/self/exe", Args: []string{"namespace.test", "-test.run=^$"},
		Env: withEnv("NSGO_NAMESPACE_HELPER=clone-limit"),
		New: namespace.User, Stdout: &out, Stderr: &out,
	}
	opts.UIDMap, opts.GIDMap = ownMaps()
	p, err := namespace.Spawn(opts)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := p.Wait(); err != nil || !st.Success() || !strings.Contains(out.String(), "clone-limit: ok") {
		t.Errorf("helper: %v %v\n%s", st, err, out.String())
	} else {
		t.Logf("helper:\n%s", out.String())
	}
}

// cloneLimitHelper runs as root of a user namespace of its own, whose limits
// it may set (CAP_SYS_RESOURCE there) and which bind the namespaces it owns.
func cloneLimitHelper() error {
	// A limit reached: one net namespace allowed, and held by a first child.
	if err := os.WriteFile("/proc/sys/user/max_net_namespaces", []byte("1"), 0); err != nil {
		return err
	}
	first, err := namespace.Spawn(namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "60"}, New: namespace.Net})
	if err != nil {
		return err
	}
	_, err = namespace.Spawn(namespace.Options{Path: "/bin/true", New: namespace.Net | namespace.PID})
	first.Kill()
	first.Wait()
	fmt.Println(err)
	want := "clone: no space left on device (the caller's user reached user.max_net_namespaces (1) or user.max_pid_namespaces ("
	if !errors.Is(err, unix.ENOSPC) || !strings.Contains(err.Error(), want) ||
		!strings.Contains(err.Error(), "; or pid namespaces are nested 32 deep already)") {
		return fmt.Errorf("second net namespace with user.max_net_namespaces 1: %v\nwant ENOSPC and %q", err, want)
	}
	// Limits of 0: no more of that kind at all.
	for _, c := range []struct {
		limit string
		kinds namespace.Kind
		want  string
	}{
		{"max_net_namespaces", namespace.Net, "clone: no space left on device (user.max_net_namespaces is 0 here: this user namespace allows no new ones)"},
		{"max_user_namespaces", namespace.User | namespace.UTS, "clone: no space left on device (user.max_user_namespaces is 0 here: this user namespace allows no new ones)"},
	} {
		if err := os.WriteFile("/proc/sys/user/"+c.limit, []byte("0"), 0); err != nil {
			return err
		}
		opts := namespace.Options{Path: "/bin/true", New: c.kinds}
		if c.kinds.Has(namespace.User) {
			opts.UIDMap = idmap.Map{{Inside: 0, Outside: 0, Count: 1}}
		}
		p, err := namespace.Spawn(opts)
		if err == nil {
			p.Wait()
			return fmt.Errorf("Spawn(New: %s) with user.%s 0 succeeded", c.kinds, c.limit)
		}
		fmt.Println(err)
		if !errors.Is(err, unix.ENOSPC) || !strings.Contains(err.Error(), c.want) {
			return fmt.Errorf("Spawn(New: %s) = %v\nwant ENOSPC and %q", c.kinds, err, c.want)
		}
	}
	return nil
}

// TestSpawnUndelegatedMap maps, without privilege, 65536 IDs that are not the
// caller's: the error says that the caller may map only its own ID, and
// what stands in the way of more (this machine's /etc/subuid and newuidmap).
func TestSpawnUndelegatedMap(t *testing.T) {
	if privileged {
		t.Skip("root may map any IDs; the run as uid 65534 checks the error")
	}
	before := takeCounts(t)
	_, err := namespace.Spawn(namespace.Options{
		Path: "/bin/true", New: namespace.User,
		UIDMap: idmap.Map{{Inside: 0, Outside: 100000, Count: 65536}},
	})
	t.Log(err)
	uid := os.Getuid()
	want := []string{fmt.Sprintf("without CAP_SETUID, uid %d may map only its own ID, %d, to one ID inside", uid, uid)}
	subs, _ := idmap.ReadSubUIDs(fmt.Sprint(uid))
	if !slices.ContainsFunc(subs, func(r idmap.SubRange) bool { return r.Contains(100000, 65536) }) {
		want = append(want, fmt.Sprintf("outside user IDs 100000-165535 not delegated to user %d in /etc/subuid", uid))
		if len(subs) == 0 {
			want = append(want, "which has no range for it")
		}
	}
	if _, lookErr := exec.LookPath("newuidmap"); lookErr != nil {
		want = append(want, "newuidmap, from the uidmap package, is missing")
	}
	if !errors.Is(err, os.ErrPermission) {
		t.Errorf("Spawn = %v, want os.ErrPermission", err)
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Spawn = %v\nwant %q in it", err, w)
		}
	}
	checkNoLeak(t, before)
}
