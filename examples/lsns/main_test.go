package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

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
	if code != 0 || !strings.Contains(out, fmt.Sprintf("%d user ", user.Ino)) || !strings.Contains(out, fmt.Sprintf("─%d uts ", uts.Ino)) {
		t.Errorf("exit %d; want our user namespace %d owning uts %d:\n%s", code, user.Ino, uts.Ino, out)
	}
}

func TestBadKind(t *testing.T) {
	_, errOut, code := lsns(t, "-t", "bogus")
	if code != 1 || !strings.Contains(errOut, `unknown kind "bogus"`) {
		t.Errorf("exit %d, %q", code, errOut)
	}
}
