package namespace_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOwnStackChildNeedsNoGoroutine disassembles this test binary and walks
// every function that a child on its own stack can run, from childOwnStack
// on. That child runs in the parent's memory while the parent goes on, with
// no goroutine of its own, so it must not reach the Go runtime, which works
// on the current goroutine: the g register, or the thread-local slot that
// the compiler reloads it from, which the child shares with a parent thread
// that runs other goroutines meanwhile. The runtime's fork hook did exactly
// that, and about one stress run in six lost a child to a nil pointer there
// (dmesg: "segfault at 78" in syscall.runtime_AfterForkInChild).
//
// Allowed: raw system calls; the compiler's bounds-check panics, which a
// correct child never reaches; and the reload of g that follows a call to
// rawVforkClone, rawVforkRefork or rawVforkInit, in a vfork child, whose
// parent is suspended (the reloaded g is never used: nothing after it
// calls into the runtime, which this walk checks).
func TestOwnStackChildNeedsNoGoroutine(t *testing.T) {
	if !privileged {
		t.Skip("a check of the compiled code, the same for every user: the run as root makes it")
	}
	gocmd, err := exec.LookPath("go") // go test puts its own first in PATH
	if err != nil {
		t.Skipf("no go command to build and disassemble with: %v", err)
	}
	// go test strips the binary it runs, so build one with symbols, with
	// the race detector if this run has it.
	exe := filepath.Join(t.TempDir(), "namespace.test")
	build := []string{"test", "-c", "-o", exe}
	if raceEnabled {
		build = append(build, "-race")
	}
	goTool(t, gocmd, append(build, ".")...)
	out := goTool(t, gocmd, "tool", "objdump", "-s",
		`^(github\.com/nsgo/nsgo/namespace\.child|syscall\.RawSyscall|internal/runtime/syscall/linux\.Syscall6$)`, exe)
	const pkg = "github.com/nsgo/nsgo/namespace."
	funcs := parseObjdump(out)
	// childOwnStack is where the own-stack child starts; childInitEntry,
	// where the init goes on after rawVforkInit, on a stack of its own,
	// in the same memory.
	starts := []string{pkg + "childOwnStack", pkg + "childInitEntry"}
	seen := map[string]bool{}
	for _, start := range starts {
		if funcs[start] == nil {
			t.Fatalf("no %s in the disassembly of %s", start, exe)
		}
		seen[start] = true
	}
	for queue := starts; len(queue) > 0; queue = queue[1:] {
		name := queue[0]
		code := funcs[name]
		for i, ins := range code {
			if strings.Contains(ins, "FS:") && !afterVforkClone(code[:i]) {
				t.Errorf("%s reads thread-local storage: %s", name, ins)
			}
			callee, ok := strings.CutPrefix(ins, "CALL ")
			if !ok {
				continue
			}
			callee, direct := strings.CutSuffix(strings.Fields(callee)[0], "(SB)")
			switch {
			case !direct:
				t.Errorf("%s makes an indirect call: %s", name, ins)
			case callee == pkg+"rawVforkClone.abi0", callee == pkg+"rawVforkRefork.abi0", callee == pkg+"rawVforkInit.abi0", strings.HasPrefix(callee, "runtime.panic"):
			case funcs[callee] == nil:
				t.Errorf("%s calls %s, outside the child's code", name, callee)
			case !seen[callee]:
				seen[callee] = true
				queue = append(queue, callee)
			}
		}
	}
	if !seen["internal/runtime/syscall/linux.Syscall6"] {
		t.Errorf("the walk never reached the system call itself; it saw %v", seen)
	}
}

// afterVforkClone says whether code ends with a call of rawVforkClone,
// rawVforkRefork or rawVforkInit and the compiler's clearing of X15 after
// it: where an FS-relative load reloads g after that call from assembly.
func afterVforkClone(code []string) bool {
	if n := len(code); n > 0 && code[n-1] == "XORPS X15, X15" {
		code = code[:n-1]
	}
	if len(code) == 0 {
		return false
	}
	last := code[len(code)-1]
	return strings.HasPrefix(last, "CALL github.com/nsgo/nsgo/namespace.rawVforkClone.abi0(") ||
		strings.HasPrefix(last, "CALL github.com/nsgo/nsgo/namespace.rawVforkRefork.abi0(") ||
		strings.HasPrefix(last, "CALL github.com/nsgo/nsgo/namespace.rawVforkInit.abi0(")
}

// parseObjdump splits the output of go tool objdump into the instructions
// of each function, by name.
func parseObjdump(out string) map[string][]string {
	funcs := map[string][]string{}
	var cur string
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "TEXT "); ok {
			cur, _, _ = strings.Cut(rest, "(SB)")
			funcs[cur] = []string{}
			continue
		}
		// file:line, address, encoding, instruction: tab-separated, with
		// empty fields between.
		var fields []string
		for _, f := range strings.Split(line, "\t") {
			if f = strings.TrimSpace(f); f != "" {
				fields = append(fields, f)
			}
		}
		if cur != "" && len(fields) >= 4 {
			funcs[cur] = append(funcs[cur], strings.Join(fields[3:], " "))
		}
	}
	return funcs
}
