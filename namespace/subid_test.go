package namespace_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// TestRootlessMultiRange maps, as uid 65534, its own ID to 0 and a range of
// 65536 subordinate IDs above it, through newuidmap and newgidmap, as
// rootless container tools do. The delegation in /etc/subuid and /etc/subgid
// exists only in a private mount namespace of a helper, which binds a copy
// of /etc over /etc there: the host's files never change.
func TestRootlessMultiRange(t *testing.T) {
	if !privileged {
		t.Skip("needs root to set up /etc/subuid in a private mount namespace; the part as uid 65534 runs inside it")
	}
	for _, tool := range []string{"newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool, "not installed (the uidmap package; .ci/run installs it):", err)
		}
	}
	before, _ := os.ReadFile("/proc/self/mountinfo")
	var out strings.Builder
	p, err := namespace.Spawn(namespace.Options{
		Path: "/proc/self/exe", Args: []string{"namespace.test", "-test.run=^$"},
		Env: append(os.Environ(), "NSGO_NAMESPACE_HELPER=subid-setup"),
		New: namespace.Mount, Stdout: &out, Stderr: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := p.Wait(); err != nil || !st.Success() || !strings.Contains(out.String(), "subid-run: ok") {
		t.Errorf("helpers: %v %v\n%s", st, err, out.String())
	}
	if after, _ := os.ReadFile("/proc/self/mountinfo"); string(after) != string(before) {
		t.Errorf("host mounts changed")
	}
}

// subidSetupHelper runs as root in a private mount namespace.
func subidSetupHelper() error {
	tmp, err := os.MkdirTemp("", "nsgo-etc")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	etc := filepath.Join(tmp, "etc")
	if out, err := exec.Command("cp", "-a", "/etc", etc).CombinedOutput(); err != nil {
		return fmt.Errorf("cp -a /etc: %v: %s", err, out)
	}
	delegation := "# test delegation\n\nnobody:100000:65536\n"
	for _, f := range []string{"subuid", "subgid"} {
		if err := os.WriteFile(filepath.Join(etc, f), []byte(delegation), 0o644); err != nil {
			return err
		}
	}
	if err := unix.Mount(etc, "/etc", "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s on /etc: %w", etc, err)
	}
	defer unix.Unmount("/etc", unix.MNT_DETACH)
	work := filepath.Join(tmp, "work")
	if err := os.Mkdir(work, 0o777); err != nil {
		return err
	}
	os.Chmod(work, 0o777)
	os.Chmod(tmp, 0o755)
	p, err := namespace.Spawn(namespace.Options{
		Path: "/proc/self/exe", Args: []string{"namespace.test", "-test.run=^$"},
		Env:        withEnv("NSGO_NAMESPACE_HELPER=subid-run", "NSGO_WORK="+work),
		Dir:        "/",
		Credential: &namespace.Credential{UID: 65534, GID: 65534},
		Stdout:     os.Stdout, Stderr: os.Stderr,
	})
	if err != nil {
		return err
	}
	st, err := p.Wait()
	if err != nil || !st.Success() {
		return fmt.Errorf("as uid 65534: %v %v", st, err)
	}
	return nil
}

// subidRunHelper runs as uid 65534 where /etc/subuid delegates
// 100000-165535 to it.
func subidRunHelper() error {
	if err := subidRun(); err != nil {
		return err
	}
	fmt.Println("subid-run: ok")
	return nil
}

func subidRun() error {
	for _, name := range []string{"nobody", "65534"} {
		subs, err := idmap.ReadSubUIDs(name)
		if err != nil || !cmp.Equal(subs, []idmap.SubRange{{Start: 100000, Count: 65536}}) {
			return fmt.Errorf("ReadSubUIDs(%q) = %v, %v", name, subs, err)
		}
	}
	m := idmap.Map{{Inside: 0, Outside: 65534, Count: 1}, {Inside: 1, Outside: 100000, Count: 65536}}
	work := os.Getenv("NSGO_WORK")
	file := filepath.Join(work, "owned")
	var out strings.Builder
	p, err := namespace.Spawn(namespace.Options{
		Path: "/bin/sh", Args: []string{"sh", "-c", "id -u; id -g; touch " + file + " && chown 1000:2000 " + file + "; read x"},
		New: namespace.User | namespace.UTS | namespace.PID | namespace.Mount, UIDMap: m, GIDMap: m,
		Stdin: strings.NewReader("go\n"), Stdout: &out, Stderr: &out,
	})
	if err != nil {
		return err
	}
	gotU, errU := idmap.ReadUIDMap(p.Pid)
	gotG, errG := idmap.ReadGIDMap(p.Pid)
	st, err := p.Wait()
	if err != nil || !st.Success() {
		return fmt.Errorf("child: %v %v: %s", st, err, out.String())
	}
	if errU != nil || errG != nil || !cmp.Equal(gotU, m) || !cmp.Equal(gotG, m) {
		return fmt.Errorf("maps read from outside: %v %v / %v %v", gotU, errU, gotG, errG)
	}
	if out.String() != "0\n0\n" {
		return fmt.Errorf("inside: %q, want root", out.String())
	}
	var fst syscall.Stat_t
	if err := syscall.Stat(file, &fst); err != nil {
		return err
	}
	if fst.Uid != 100999 || fst.Gid != 101999 {
		return fmt.Errorf("chown 1000:2000 inside gives %d:%d outside, want 100999:101999", fst.Uid, fst.Gid)
	}

	// A range not delegated: refused, and the error says which.
	_, err = namespace.Spawn(namespace.Options{
		Path: "/bin/true", New: namespace.User,
		UIDMap: idmap.Map{{Inside: 0, Outside: 65534, Count: 1}, {Inside: 1, Outside: 300000, Count: 10}},
	})
	if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "300000-300009 not delegated to user 65534 in /etc/subuid") {
		return fmt.Errorf("undelegated range: %v", err)
	}
	// No newuidmap: the error says where it comes from.
	os.Setenv("PATH", "/nonexistent")
	_, err = namespace.Spawn(namespace.Options{Path: "/bin/true", New: namespace.User, UIDMap: m})
	if !errors.Is(err, exec.ErrNotFound) || !strings.Contains(err.Error(), "uidmap package") {
		return fmt.Errorf("without newuidmap: %v", err)
	}
	return nil
}

// withEnv returns the environment with the variables set, replacing any
// earlier values.
func withEnv(vars ...string) []string {
	env := os.Environ()
	for _, v := range vars {
		name, _, _ := strings.Cut(v, "=")
		env = slices.DeleteFunc(env, func(e string) bool { return strings.HasPrefix(e, name+"=") })
		env = append(env, v)
	}
	return env
}
