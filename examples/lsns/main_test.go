package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"github.com/nsgo/nsgo/procfs"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func lsns(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut strings.Builder
	code := run(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestTableOfSelf(t *testing.T) {
	self, err := procfs.Namespaces(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	out, _, code := lsns(t, "-p", fmt.Sprint(os.Getpid()))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(lines) != 1+len(self) {
		t.Fatalf("exit %d, %d lines for %d namespaces:\n%s", code, len(lines), len(self), out)
	}
	if got := strings.Fields(lines[0]); strings.Join(got, " ") != "NS TYPE NPROCS PID USER COMMAND" {
		t.Errorf("header %q", lines[0])
	}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		kind, err := procfs.ParseKinds(f[1])
		if err != nil || fmt.Sprint(self[kind].Ino) != f[0] {
			t.Errorf("row %q: not one of this process's namespaces (%v)", line, err)
		}
	}
}

func TestJSON(t *testing.T) {
	out, _, code := lsns(t, "-t", "net", "--json")
	var doc struct {
		Namespaces []map[string]any `json:"namespaces"`
	}
	if err := json.Unmarshal([]byte(out), &doc); code != 0 || err != nil {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	self, _ := procfs.Lookup(os.Getpid(), procfs.Net)
	found := false
	for _, ns := range doc.Namespaces {
		for _, key := range []string{"ns", "type", "nprocs", "pid", "user", "command"} {
			if _, ok := ns[key]; !ok {
				t.Errorf("entry %v lacks %q", ns, key)
			}
		}
		if ns["type"] != "net" {
			t.Errorf("-t net gave %v", ns)
		}
		found = found || ns["ns"] == float64(self.Ino)
	}
	if !found {
		t.Errorf("our net namespace %v is not in:\n%s", self, out)
	}
}

func TestTree(t *testing.T) {
	out, _, code := lsns(t, "--tree")
	user, _ := procfs.Lookup(os.Getpid(), procfs.User)
	uts, _ := procfs.Lookup(os.Getpid(), procfs.UTS)
	if code != 0 || !regexp.MustCompile(fmt.Sprintf(`(?m)^(\S*─)?%d +user `, user.Ino)).MatchString(out) || !regexp.MustCompile(fmt.Sprintf(`─%d +uts `, uts.Ino)).MatchString(out) {
		t.Errorf("exit %d; want our user namespace %d owning uts %d:\n%s", code, user.Ino, uts.Ino, out)
	}
}

func TestBadKind(t *testing.T) {
	_, errOut, code := lsns(t, "-t", "bogus")
	if code != 1 || !strings.Contains(errOut, `unknown kind "bogus"`) {
		t.Errorf("exit %d, %q", code, errOut)
	}
	// lsns takes a namespace as an argument; this one takes none, and says so
	// rather than listing everything.
	if _, errOut, code = lsns(t, "4026531837"); code != 2 || !strings.Contains(errOut, `unexpected argument "4026531837"`) {
		t.Errorf("argument: exit %d, %q", code, errOut)
	}
}

// utilLinux runs util-linux lsns with args in a UTF-8 locale, or skips the
// test where it is missing.
func utilLinux(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("lsns")
	if err != nil {
		t.Skip("util-linux lsns not installed:", err)
	}
	// util-linux's lsns exits 1 when a process it is reading exits under
	// it, as they do while other packages' tests run: try a few times.
	var errOut strings.Builder
	for try := 1; ; try++ {
		errOut.Reset()
		cmd := exec.Command(path, args...)
		cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
		cmd.Stderr = &errOut
		out, err := cmd.Output()
		if err == nil {
			return string(out)
		}
		if try == 5 {
			t.Fatalf("lsns %q: %v, 5 times; last: %s", args, err, errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// start runs a program in new user, uts and ipc namespaces, mapped to root
// inside, as any user may, and ends it when the test does.
func start(t *testing.T, path string, args ...string) *namespace.Process {
	t.Helper()
	p, err := namespace.Spawn(namespace.Options{
		Path: path, Args: args,
		New:    namespace.User | namespace.UTS | namespace.IPC,
		UIDMap: idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}},
		GIDMap: idmap.Map{{Inside: 0, Outside: uint32(os.Getgid()), Count: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill(); p.Wait() })
	return p
}

// TestEscapedCommand checks that a command line with control characters,
// characters that are no UTF-8 or not printable, and a backslash before x,
// shows as util-linux lsns shows it: on one line, byte for byte the same.
func TestEscapedCommand(t *testing.T) {
	argv0 := "a\nb\tc\x01d\x7f é \\x \u0085 \u2028 \xff <&>"
	p := start(t, "/bin/sleep", argv0, "60")
	args := []string{"-t", "ipc", "-p", strconv.Itoa(p.Pid)}
	out, errOut, code := lsns(t, args...)
	const want = `a\x0ab\x09c\x01d\x7f é \x5cx \xc2\x85 \xe2\x80\xa8 \xff <&> 60`
	if lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); code != 0 || len(lines) != 2 || !strings.HasSuffix(lines[1], " "+want) {
		t.Fatalf("exit %d %s; want a header and one row ending in %s:\n%s", code, errOut, want, out)
	}
	jsonOut, _, _ := lsns(t, append(args, "--json")...)
	var doc struct{ Namespaces []struct{ Command string } }
	if err := json.Unmarshal([]byte(jsonOut), &doc); err != nil || len(doc.Namespaces) != 1 ||
		doc.Namespaces[0].Command != strings.ToValidUTF8(argv0, "\uFFFD")+" 60" || !strings.Contains(jsonOut, "<&>") {
		t.Errorf("JSON (%v) does not carry the command as it is, with <&> unescaped as lsns -J has it:\n%s", err, jsonOut)
	}

	theirs := utilLinux(t, args...)
	if strings.Contains(theirs, `\xc3\xa9`) {
		t.Skip("util-linux lsns ran without a UTF-8 locale (no C.UTF-8 here):\n" + theirs)
	}
	if out != theirs {
		t.Errorf("ours:\n%s\nutil-linux lsns:\n%s", out, theirs)
	}
}

// treeRows returns, for each line of a --tree output, the NS column with its
// tree drawing and padding, and the TYPE: what shows the tree's shape and
// its columns' layout, and does not change while other processes come and
// go.
func treeRows(out string) []string {
	var rows []string
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		rows = append(rows, regexp.MustCompile(`^\S+ +\S+`).FindString(line))
	}
	return rows
}

// TestTreeFiltered checks --tree with -t and -p: the one namespace that
// matches keeps its owner and its owner's parent, so the tree is connected,
// under the header lsns --tree prints and with the PID column; the shape and
// layout are util-linux lsns's.
func TestTreeFiltered(t *testing.T) {
	p := start(t, "/bin/sleep", "sleep", "60")
	self, _ := procfs.Lookup(os.Getpid(), procfs.User)
	own, err := procfs.Namespaces(p.Pid)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--tree", "-t", "ipc", "-p", strconv.Itoa(p.Pid)}
	out, errOut, code := lsns(t, args...)
	want := []string{
		`NS +TYPE +NPROCS +PID +USER +COMMAND`,
		fmt.Sprintf(`%d +user +\d+ +\d+ .*`, self.Ino),
		fmt.Sprintf(`└─%d +user +1 +%d .* sleep 60`, own[procfs.User].Ino, p.Pid),
		fmt.Sprintf(`  └─%d +ipc +1 +%d .* sleep 60`, own[procfs.IPC].Ino, p.Pid),
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(lines) != len(want) {
		t.Fatalf("exit %d %s; want %d lines:\n%s", code, errOut, len(want), out)
	}
	for i, re := range want {
		if !regexp.MustCompile(`^` + re + `$`).MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %q", i, lines[i], re)
		}
	}
	theirs := utilLinux(t, "--tree", "-t", "ipc", "-p", strconv.Itoa(p.Pid))
	if got, lsnsRows := treeRows(out), treeRows(theirs); !slices.Equal(got, lsnsRows) {
		t.Errorf("tree differs from util-linux lsns's:\n%s\nutil-linux lsns:\n%s", out, theirs)
	}
	// The widths of NS and TYPE; the rest of the header depends on the
	// ancestors' columns, which lsns leaves empty.
	header := regexp.MustCompile(`^NS +TYPE +NPROCS`)
	if header.FindString(out) != header.FindString(theirs) {
		t.Errorf("header differs from util-linux lsns's:\n%s\nutil-linux lsns:\n%s", out, theirs)
	}
}

// TestTreeOrder checks that a user namespace's children come in the order of
// their inode numbers whatever their kinds, as in lsns --tree: a child user
// namespace made before a namespace of another kind that the parent owns
// comes first.
func TestTreeOrder(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("util-linux unshare not installed:", err)
	}
	outer, err := namespace.Spawn(namespace.Options{
		Path: "/bin/sleep", Args: []string{"sleep", "60"}, New: namespace.User,
		UIDMap: idmap.Map{{Inside: 0, Outside: uint32(os.Getuid()), Count: 1}},
		GIDMap: idmap.Map{{Inside: 0, Outside: uint32(os.Getgid()), Count: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { outer.Kill(); outer.Wait() })
	h, err := namespace.Join(outer.Pid, namespace.User)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	// First a user namespace inside, then an ipc namespace that the outer one
	// owns.
	userNS, _ := procfs.Lookup(outer.Pid, procfs.User)
	inner, err := h.Spawn(namespace.Options{Path: unshare, Args: []string{"unshare", "--user", "sleep", "60"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Kill(); inner.Wait() })
	// unshare makes its user namespace once it runs, a moment later.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if id, err := procfs.Lookup(inner.Pid, procfs.User); err == nil && id != userNS {
			break
		} else if time.Now().After(deadline) {
			t.Fatal("unshare --user made no user namespace in 5s")
		}
	}
	// The kernel gives a new namespace the lowest free inode number, which
	// may be below the inner user namespace's: keep such ipc namespaces, and
	// make more until one comes after it.
	innerNS, _ := procfs.Lookup(inner.Pid, procfs.User)
	inos := []uint64{innerNS.Ino}
	for len(inos) < 20 && slices.Max(inos) == innerNS.Ino {
		ipc, err := h.Spawn(namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "60"}, New: namespace.IPC})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ipc.Kill(); ipc.Wait() })
		id, err := procfs.Lookup(ipc.Pid, procfs.IPC)
		if err != nil {
			t.Fatal(err)
		}
		inos = append(inos, id.Ino)
	}
	if slices.Max(inos) == innerNS.Ino {
		t.Fatalf("19 new ipc namespaces all have inode numbers below %d", innerNS.Ino)
	}
	slices.Sort(inos)

	ours := subtree(t, mustRun(t, "--tree"), userNS.Ino)
	want := []string{fmt.Sprint(userNS.Ino, " user")}
	for i, ino := range inos {
		kind := "ipc"
		if ino == innerNS.Ino {
			kind = "user"
		}
		branch := "├─"
		if i == len(inos)-1 {
			branch = "└─"
		}
		want = append(want, fmt.Sprint(branch, ino, " ", kind))
	}
	if !slices.Equal(ours, want) {
		t.Fatalf("want user namespace %d with its children in the order of their inode numbers:\n%s\ngot:\n%s", userNS.Ino, strings.Join(want, "\n"), strings.Join(ours, "\n"))
	}
	theirs := subtree(t, utilLinux(t, "--tree"), userNS.Ino)
	if !slices.Equal(ours, theirs) {
		t.Errorf("ours:\n%s\nutil-linux lsns:\n%s", strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
	}
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := lsns(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	return out
}

// subtree returns the lines of the --tree output out from the one of the
// namespace ino to the last of its descendants, each as its tree drawing,
// without what is left of the namespace's own, followed by the NS and TYPE.
func subtree(t *testing.T, out string, ino uint64) []string {
	t.Helper()
	row := regexp.MustCompile(`^([^0-9]*)([0-9]+) +(\S+)`)
	var rows []string
	depth := -1
	for _, line := range strings.Split(out, "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		prefix := []rune(m[1])
		switch {
		case depth < 0 && m[2] == strconv.FormatUint(ino, 10):
			depth = len(prefix)
		case depth < 0:
			continue
		case len(prefix) <= depth:
			return rows
		}
		rows = append(rows, string(prefix[depth:])+m[2]+" "+m[3])
	}
	return rows
}

// TestTreeJSON checks that --tree --json nests the namespaces in "children"
// arrays as lsns --tree -J does.
func TestTreeJSON(t *testing.T) {
	p := start(t, "/bin/sleep", "sleep", "60")
	args := []string{"--tree", "-t", "ipc", "-p", strconv.Itoa(p.Pid)}
	out, errOut, code := lsns(t, append(args, "--json")...)
	type entry struct {
		NS       uint64  `json:"ns"`
		Type     string  `json:"type"`
		PID      *int    `json:"pid"`
		Children []entry `json:"children"`
	}
	var ours struct{ Namespaces []entry }
	if err := json.Unmarshal([]byte(out), &ours); code != 0 || err != nil {
		t.Fatalf("exit %d %s, %v:\n%s", code, errOut, err, out)
	}
	own, _ := procfs.Namespaces(p.Pid)
	n := ours.Namespaces
	if len(n) != 1 || len(n[0].Children) != 1 || n[0].Children[0].NS != own[procfs.User].Ino ||
		len(n[0].Children[0].Children) != 1 || n[0].Children[0].Children[0].NS != own[procfs.IPC].Ino ||
		n[0].Children[0].Children[0].PID == nil || *n[0].Children[0].Children[0].PID != p.Pid {
		t.Errorf("want the initial user namespace, ours %d in it, and the ipc namespace %d in that:\n%s", own[procfs.User].Ino, own[procfs.IPC].Ino, out)
	}
	var theirs struct{ Namespaces []entry }
	lsnsOut := utilLinux(t, append(args, "-J")...)
	if err := json.Unmarshal([]byte(lsnsOut), &theirs); err != nil {
		t.Fatal(err)
	}
	var shape func([]entry) string
	shape = func(es []entry) string {
		var b strings.Builder
		for _, e := range es {
			fmt.Fprintf(&b, "%d %s [%s] ", e.NS, e.Type, shape(e.Children))
		}
		return b.String()
	}
	if shape(ours.Namespaces) != shape(theirs.Namespaces) {
		t.Errorf("ours:\n%s\nutil-linux lsns:\n%s", out, lsnsOut)
	}
}
