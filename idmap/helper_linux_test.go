package idmap

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
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
			"outside user IDs 100000-165535 not delegated to user 65534 in SUBUID, which has no range for it",
			"nsgo-no-newuidmap, from the uidmap package, is missing",
		}, nil},
		{"too small a range", "65534:100000:10\n65534:200000:5\n", []string{
			"outside user IDs 100000-165535 not delegated to user 65534 in SUBUID, which gives it 100000-100009, 200000-200004",
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
			h.user = h.own
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
	// The group helper speaks of gids and CAP_SETGID, and looks up the
	// caller's user in /etc/subgid, not its group: subgid(5) delegates
	// group IDs to users (here uid 1000 with gid 100, the "users" group).
	h := gidHelper
	h.program = "nsgo-no-newgidmap"
	h.own = func() int { return 100 }
	h.user = func() int { return 1000 }
	var asked []string
	h.read = func(user string) ([]SubRange, error) { asked = append(asked, user); return nil, nil }
	err := runHelper(h, os.Getpid(), m)
	if err == nil || !strings.Contains(err.Error(), "without CAP_SETGID, gid 100 may map only its own ID") ||
		!strings.Contains(err.Error(), "outside group IDs 100000-165535 not delegated to user 1000 in /etc/subgid, which has no range for it") {
		t.Errorf("newgidmap error: %v", err)
	}
	if len(asked) != 1 || asked[0] != "1000" {
		t.Errorf("/etc/subgid looked up for %q, want the user, 1000", asked)
	}
}

// TestLookupPasswd checks the reading of /etc/passwd that stands in for
// os/user (which links the C library with cgo on): a test file, and every
// user of this machine's /etc/passwd against os/user's answer, by name and
// by ID.
func TestLookupPasswd(t *testing.T) {
	file := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(file, []byte("root:x:0:0:root:/root:/bin/bash\n# alice:x:5:5::/:\n\nbroken\nalice:x:1000:100::/home/alice:/bin/sh\nbob:x:1001:1001::/:/bin/sh\n"), 0o644)
	for _, c := range []struct{ name, login, uid string }{
		{"alice", "alice", "1000"}, {"1001", "bob", "1001"}, {"0", "root", "0"}, {"root", "root", "0"},
		{"carol", "", ""}, {"5", "", ""}, {"# alice", "", ""}, {"broken", "", ""}, {"", "", ""},
	} {
		login, uid, ok := lookupPasswd(file, c.name)
		if login != c.login || uid != c.uid || ok != (c.login != "") {
			t.Errorf("lookupPasswd(%q) = %q, %q, %v; want %q, %q", c.name, login, uid, ok, c.login, c.uid)
		}
	}
	if _, _, ok := lookupPasswd(filepath.Join(t.TempDir(), "none"), "root"); ok {
		t.Error("found root in a missing file")
	}
	b, err := os.ReadFile(passwdFile)
	if err != nil {
		t.Skip(err)
	}
	n := 0
	for line := range strings.Lines(string(b)) {
		f := strings.Split(line, ":")
		if len(f) < 4 || f[0] == "" {
			continue
		}
		n++
		u, err := user.Lookup(f[0])
		if err != nil {
			t.Errorf("os/user: %v", err)
			continue
		}
		for _, name := range []string{f[0], f[2]} {
			if login, uid, ok := lookupPasswd(passwdFile, name); !ok || uid != u.Uid || name == f[2] && login != f[0] || name == f[0] && login != u.Username {
				t.Errorf("lookupPasswd(%q) = %q, %q, %v; os/user says %q, %q", name, login, uid, ok, u.Username, u.Uid)
			}
		}
	}
	t.Logf("%d users of %s agree with os/user", n, passwdFile)
}
