package idmap_test

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nsgo/nsgo/idmap"
)

// target is a shell in a new user namespace with no maps yet, made by
// util-linux unshare. It waits for a line on stdin, then prints what it sees
// inside and exits.
type target struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func newTarget(t *testing.T) *target {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("util-linux unshare not installed:", err)
	}
	cmd := exec.Command("unshare", "--user", "sh", "-c",
		`echo ready; read x; id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups`)
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tg := &target{cmd: cmd, in: in, out: bufio.NewReader(out)}
	t.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
	if line, err := tg.out.ReadString('\n'); line != "ready\n" {
		t.Fatalf("target: read %q, %v", line, err)
	}
	return tg
}

// inside lets the target go on and returns what it printed.
func (tg *target) inside(t *testing.T) string {
	t.Helper()
	io.WriteString(tg.in, "go\n")
	tg.in.Close()
	b, err := io.ReadAll(tg.out)
	if err != nil {
		t.Fatal(err)
	}
	tg.cmd.Wait()
	return string(b)
}

func TestReadSelf(t *testing.T) {
	for name, read := range map[string]func(int) (idmap.Map, error){"uid": idmap.ReadUIDMap, "gid": idmap.ReadGIDMap} {
		m, err := read(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile("/proc/self/" + name + "_map")
		want, err := idmap.Parse(string(raw))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, m); diff != "" {
			t.Errorf("%s map of self (-file +read):\n%s", name, diff)
		}
		if len(m) == 0 {
			t.Errorf("%s map of self is empty", name)
		}
	}
	if _, err := idmap.ReadUIDMap(1<<22 + 1); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadUIDMap(missing pid) = %v, want os.ErrNotExist", err)
	}
}

// TestWrite maps IDs of a real user namespace and checks them from both sides.
// As root it maps a shifted range; unprivileged, its own IDs to 0.
func TestWrite(t *testing.T) {
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	uidMap := idmap.Map{{Inside: 0, Outside: uid, Count: 1}}
	gidMap := idmap.Map{{Inside: 0, Outside: gid, Count: 1}}
	wantSG := "deny"
	if uid == 0 {
		uidMap = idmap.Map{rng(0, 100000, 65536), rng(65536, 0, 1)}
		gidMap = idmap.Map{rng(0, 100000, 65536)}
		wantSG = "allow"
	}
	tg := newTarget(t)
	pid := tg.cmd.Process.Pid
	if m, err := idmap.ReadUIDMap(pid); err != nil || len(m) != 0 {
		t.Fatalf("fresh namespace has uid map %v, %v", m, err)
	}
	if err := idmap.Write(pid, uidMap, gidMap, idmap.Auto); err != nil {
		t.Fatal(err)
	}
	gotU, err := idmap.ReadUIDMap(pid)
	if err != nil {
		t.Fatal(err)
	}
	gotG, err := idmap.ReadGIDMap(pid)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(uidMap, gotU); diff != "" {
		t.Errorf("uid_map read back (-wrote +read):\n%s", diff)
	}
	if diff := cmp.Diff(gidMap, gotG); diff != "" {
		t.Errorf("gid_map read back (-wrote +read):\n%s", diff)
	}
	// A map is written once: the second write fails with EPERM.
	if err := idmap.Write(pid, uidMap, nil, idmap.Auto); !errors.Is(err, os.ErrPermission) ||
		!strings.Contains(err.Error(), "/proc/"+strconv.Itoa(pid)+"/uid_map") {
		t.Errorf("second Write = %v, want a permission error naming uid_map", err)
	}

	// Inside, the shell is still the unchanged kernel uid; as root that is 0
	// outside, mapped from 65536 inside; unprivileged it is 0 inside.
	lines := strings.Split(tg.inside(t), "\n")
	wantID := "0"
	if uid == 0 {
		wantID = "65536"
	}
	if len(lines) < 4 || lines[0] != wantID {
		t.Fatalf("inside: %q, want uid %s first", lines, wantID)
	}
	inU, err := idmap.Parse(lines[2] + "\n")
	if err != nil || !cmp.Equal(uidMap[:1], inU) {
		t.Errorf("inside uid_map first line %q = %v, %v", lines[2], inU, err)
	}
	if last := lines[len(lines)-2]; last != wantSG {
		t.Errorf("inside setgroups = %q, want %q", last, wantSG)
	}
}

func TestWriteRefusesInvalidMapBeforeWriting(t *testing.T) {
	tg := newTarget(t)
	pid := tg.cmd.Process.Pid
	good := idmap.Map{rng(0, uint32(os.Getuid()), 1)}
	for _, bad := range []idmap.Map{{}, {rng(0, 0, 0)}, {rng(0, 0, 10), rng(5, 100, 1)}} {
		err := idmap.Write(pid, good, bad, idmap.Auto)
		var re *idmap.RangeError
		if err == nil || (len(bad) > 0 && !errors.As(err, &re)) || !strings.HasPrefix(err.Error(), "gid map: ") {
			t.Errorf("Write with gid map %v = %v, want a gid map validation error", bad, err)
		}
	}
	if m, err := idmap.ReadUIDMap(pid); err != nil || len(m) != 0 {
		t.Errorf("uid map written despite an invalid gid map: %v, %v", m, err)
	}
	if err := idmap.Write(pid, nil, nil, idmap.SetGroups(7)); err == nil {
		t.Error("Write with SetGroups(7) succeeded")
	}
}

func TestWriteErrors(t *testing.T) {
	m := idmap.Map{rng(0, uint32(os.Getuid()), 1)}
	if err := idmap.Write(1<<22+1, m, nil, idmap.Auto); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Write to missing pid = %v, want os.ErrNotExist", err)
	}
	if os.Getuid() != 0 {
		// Unprivileged: mapping an ID that is not ours is refused.
		tg := newTarget(t)
		err := idmap.Write(tg.cmd.Process.Pid, idmap.Map{rng(0, 0, 1)}, nil, idmap.Auto)
		if !errors.Is(err, os.ErrPermission) {
			t.Errorf("unprivileged Write of uid 0 = %v, want os.ErrPermission", err)
		}
	}
}

func TestSetGroupsResolve(t *testing.T) {
	own := idmap.Map{rng(0, uint32(os.Getegid()), 1)}
	want := idmap.Deny
	if os.Getuid() == 0 {
		want = idmap.Allow
	}
	if got := idmap.Auto.Resolve(own); got != want {
		t.Errorf("Auto.Resolve(own gid) as uid %d = %s, want %s", os.Getuid(), got, want)
	}
	// Delegated ranges are written by newgidmap, which is privileged.
	if got := idmap.Auto.Resolve(idmap.Map{rng(0, uint32(os.Getegid()), 1), rng(1, 100000, 65536)}); got != idmap.Allow {
		t.Errorf("Auto.Resolve(subordinate ranges) = %s, want allow", got)
	}
	if idmap.Allow.Resolve(own) != idmap.Allow || idmap.Deny.Resolve(own) != idmap.Deny {
		t.Error("Resolve changed an explicit choice")
	}
	if s := idmap.SetGroups(9).String(); s != "SetGroups(9)" {
		t.Errorf("String() = %q", s)
	}
}
