package idmap

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHelperErrorSaysWhy gives runHelper a map that uid 65534 cannot write
// alone, a subordinate ID file of the test's, and a helper program that is
// not installed: the error must say that the caller may map only its own ID,
// what the file delegates to it, and that the program is missing. Nothing
// here needs privilege: the program is looked up before anything is run.
func TestHelperErrorSaysWhy(t *testing.T) {
	m := Map{{Inside: 0, Outside: 100000, Count: 65536}}
	for _, c := range []struct {
		name, file string
		want       []string
		not        []string
	}{
		{"no range", "someone:100000:65536\n", []string{
			"uid 65534 may map only its own ID, 65534, to one ID inside",
			"outside user IDs 100000-165535 not delegated to 65534 in SUBUID, which has no range for it",
			"nsgo-no-newuidmap, from the uidmap package, is missing",
		}, nil},
		{"too small a range", "65534:100000:10\n65534:200000:5\n", []string{
			"outside user IDs 100000-165535 not delegated to 65534 in SUBUID, which gives it 100000-100009, 200000-200004",
			"is missing",
		}, nil},
		{"delegated", "65534:100000:65536\n", []string{
			"uid 65534 may map only its own ID",
			"nsgo-no-newuidmap, from the uidmap package, is missing",
		}, []string{"not delegated"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "subuid")
			if err := os.WriteFile(file, []byte(c.file), 0o644); err != nil {
				t.Fatal(err)
			}
			h := uidHelper
			h.program = "nsgo-no-newuidmap"
			h.file = file
			h.own = func() int { return 65534 }
			h.read = func(user string) ([]SubRange, error) { return readSubIDs(file, user) }
			err := runHelper(h, os.Getpid(), m)
			if err == nil {
				t.Fatal("runHelper succeeded")
			}
			msg := strings.ReplaceAll(err.Error(), file, "SUBUID")
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q\nlacks %q", msg, w)
				}
			}
			for _, w := range c.not {
				if strings.Contains(msg, w) {
					t.Errorf("error %q\nhas %q", msg, w)
				}
			}
			if !errors.Is(err, os.ErrPermission) || !errors.Is(err, exec.ErrNotFound) {
				t.Errorf("error %q: want it to match os.ErrPermission and exec.ErrNotFound", err)
			}
		})
	}
	// The group helper speaks of gids and CAP_SETGID.
	h := gidHelper
	h.program = "nsgo-no-newgidmap"
	h.own = func() int { return 65534 }
	h.read = func(string) ([]SubRange, error) { return nil, nil }
	err := runHelper(h, os.Getpid(), m)
	if err == nil || !strings.Contains(err.Error(), "without CAP_SETGID, gid 65534 may map only its own ID") ||
		!strings.Contains(err.Error(), "outside group IDs 100000-165535 not delegated to 65534 in /etc/subgid, which has no range for it") {
		t.Errorf("newgidmap error: %v", err)
	}
}
