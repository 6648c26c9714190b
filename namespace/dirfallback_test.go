package namespace_test

import (
	"strings"
	"testing"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
)

// TestDirFallbacks: when Dir cannot be entered, the program starts in the
// first of DirFallbacks that can, with PWD=Dir changed to it; when Dir
// can, DirFallbacks are not tried; when none can, Spawn fails with Dir's
// error and leaves nothing. Every child path, in a new mount namespace
// (where the child enters the directories) and without, and in a new PID
// namespace (the second fork's process enters them). The environment
// is read from /proc, as sh sets its own PWD.
func TestDirFallbacks(t *testing.T) {
	eachPath(t, func(t *testing.T) {
		for _, c := range []struct {
			name     string
			dir      string
			fallback []string
			env      []string
			want     string // pwd and $PWD, or the error
		}{
			{"second fallback", "/nonexistent-nsgo", []string{"/nonexistent-nsgo-2", "/usr", "/"}, []string{"PWD=/nonexistent-nsgo", "A=b"}, "/usr PWD=/usr b"},
			{"Dir works", "/", []string{"/usr"}, []string{"PWD=/", "A=b"}, "/ PWD=/ b"},
			{"not a directory", "/etc/passwd", []string{"/usr"}, []string{"PWD=/etc/passwd", "A=c"}, "/usr PWD=/usr c"},
			{"no PWD to change", "/nonexistent-nsgo", []string{"/usr"}, []string{"PWD=/elsewhere", "A=d"}, "/usr PWD=/elsewhere d"},
			{"none works", "/nonexistent-nsgo", []string{"/nonexistent-nsgo-2"}, nil, "chdir /nonexistent-nsgo: no such file or directory"},
		} {
			uid, gid := ownMaps()
			for _, opts := range []namespace.Options{{}, {New: namespace.User | namespace.Mount, UIDMap: uid, GIDMap: gid, SetGroups: idmap.Deny},
				// PID: the program's process is the child's second fork.
				// MountProc: $$ is a PID of the new namespace.
				{New: namespace.User | namespace.Mount | namespace.PID, UIDMap: uid, GIDMap: gid, SetGroups: idmap.Deny, MountProc: true}} {
				before := takeCounts(t)
				var out strings.Builder
				opts.Path, opts.Args = "/bin/sh", []string{"sh", "-c", `echo "$(pwd -P) $(tr '\0' '\n' </proc/$$/environ | grep ^PWD=) $A"`}
				opts.Dir, opts.DirFallbacks, opts.Env, opts.Stdout = c.dir, c.fallback, c.env, &out
				p, err := namespace.Spawn(opts)
				if err == nil {
					if st, werr := p.Wait(); werr != nil || !st.Success() {
						t.Errorf("%s (New %s): %v %v", c.name, opts.New, st, werr)
					}
				}
				got := strings.TrimSpace(out.String())
				if err != nil {
					got = err.Error()
				}
				if !strings.Contains(got, c.want) {
					t.Errorf("%s (New %s): %q, want %q", c.name, opts.New, got, c.want)
				}
				checkNoLeak(t, before)
			}
		}
	})
}

// TestDirFallbacksBadInput: DirFallbacks need Dir, and no entry may be
// empty or hold a NUL; an error before any clone.
func TestDirFallbacksBadInput(t *testing.T) {
	for _, c := range []struct {
		opts namespace.Options
		want string
	}{
		{namespace.Options{DirFallbacks: []string{"/"}}, "DirFallbacks without Dir"},
		{namespace.Options{Dir: "/x", DirFallbacks: []string{""}}, `invalid DirFallbacks[0] ""`},
		{namespace.Options{Dir: "/x", DirFallbacks: []string{"/", "a\x00b"}}, `invalid DirFallbacks[1]`},
	} {
		c.opts.Path = "/bin/true"
		wantSpawnError(t, c.opts, c.want)
	}
}
