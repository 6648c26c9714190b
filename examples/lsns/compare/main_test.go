package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun runs a small comparison: it must print one row per peer with a
// ratio, and leave none of its sleepers behind.
func TestRun(t *testing.T) {
	if _, err := exec.LookPath("lsns"); err != nil {
		t.Skip("util-linux lsns not installed:", err)
	}
	var out strings.Builder
	if err := run(&out, 5, 2, ""); err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{`(?m)^5 sleepers; \d+ namespaces`, `(?m)^procfs\.List\(\) +\S+ +\d+\.\d\dx$`, `(?m)^lsns -J +\S+ +1\.00x$`} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("output lacks %s:\n%s", re, out.String())
		}
	}
	if kids := children(); len(kids) > 0 {
		t.Errorf("sleepers left behind: %v", kids)
	}
}

// children lists the processes whose parent is this one, zombies included.
func children() []string {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	self := strconv.Itoa(os.Getpid())
	var out []string
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := string(b)
		if fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]); len(fields) > 1 && fields[1] == self {
			out = append(out, s)
		}
	}
	return out
}
