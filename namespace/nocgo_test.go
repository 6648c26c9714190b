package namespace_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLibraryLinksNoC checks that the library's packages pull in no C code
// when cgo is on (the default where a C compiler is installed): a program
// built on them is then a static binary that starts without the dynamic
// loader and the C library's threads (1.2 ms less per run here), and
// syscall.AllThreadsSyscall works in it. os/user and net are the usual ways
// in.
func TestLibraryLinksNoC(t *testing.T) {
	if !privileged {
		t.Skip("a check of the packages' imports, the same for every user: the run as root makes it")
	}
	gocmd, err := exec.LookPath("go") // go test puts its own first in PATH
	if err != nil {
		t.Skipf("no go command to list the packages with: %v", err)
	}
	cmd := exec.Command(gocmd, "list", "-deps", "github.com/nsgo/nsgo/namespace", "github.com/nsgo/nsgo/idmap", "github.com/nsgo/nsgo/procfs")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for dep := range strings.Lines(string(out)) {
		if dep = strings.TrimSpace(dep); dep == "runtime/cgo" || dep == "os/user" || dep == "net" {
			t.Errorf("the library depends on %s, which links C code with cgo on", dep)
		}
	}
}
