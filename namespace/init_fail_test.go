package namespace_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

// bigAllowFilter is a valid seccomp program of n instructions that allows
// everything.
func bigAllowFilter(n int) []unix.SockFilter {
	f := make([]unix.SockFilter, n)
	for i := range n - 1 {
		f[i] = unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}
	}
	f[n-1] = unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}
	return f
}

// TestInitChildStepFailures: with Init, a failure of each step that
// the program's process runs after the init's fork comes back as the right
// ChildError, on every child path, with nothing left behind; then a spawn
// that works still does.
func TestInitChildStepFailures(t *testing.T) {
	uidMap, gidMap := ownMaps()
	base := func() namespace.Options {
		return namespace.Options{Path: "/bin/true", New: namespace.User | namespace.PID, UIDMap: uidMap, GIDMap: gidMap, Init: true}
	}
	var filters [][]unix.SockFilter
	for range 9 {
		filters = append(filters, bigAllowFilter(4096))
	}
	many := make([]*os.File, 40)
	for i := range many {
		many[i] = os.Stderr
	}
	cases := []struct {
		name string
		mod  func(o *namespace.Options)
		want string
		is   error
	}{
		{"dir", func(o *namespace.Options) { o.Dir = "/nsgo-no-such-dir" }, "chdir /nsgo-no-such-dir", os.ErrNotExist},
		{"dir fallbacks", func(o *namespace.Options) {
			o.Dir = "/nsgo-no-such-dir"
			o.DirFallbacks = []string{"/nsgo-no-2", "/nsgo-no-3"}
		}, "chdir /nsgo-no-such-dir", os.ErrNotExist},
		{"exec", func(o *namespace.Options) { o.Path = "/nsgo-no-such-prog" }, "execve", os.ErrNotExist},
		{"exec dir", func(o *namespace.Options) { o.Path = "/tmp" }, "execve", nil},
		{"require userns disabled", func(o *namespace.Options) { o.RequireUserNamespacesDisabled = true }, "RequireUserNamespacesDisabled", nil},
		{"seccomp total too big", func(o *namespace.Options) { o.NoNewPrivs = true; o.SeccompFilters = filters }, "", nil},
		{"exec with many extra files", func(o *namespace.Options) { o.Path = "/nsgo-no-such-prog"; o.ExtraFiles = many }, "execve", os.ErrNotExist},
		{"exec with setsid", func(o *namespace.Options) { o.Path = "/nsgo-no-such-prog"; o.Setsid = true }, "execve", os.ErrNotExist},
		{"exec with disable userns", func(o *namespace.Options) { o.Path = "/nsgo-no-such-prog"; o.DisableUserNamespaces = true }, "execve", os.ErrNotExist},
		{"exec with mount proc", func(o *namespace.Options) {
			o.Path = "/nsgo-no-such-prog"
			o.New |= namespace.Mount
			o.MountProc = true
		}, "execve", os.ErrNotExist},
		{"groups", func(o *namespace.Options) {
			if !privileged {
				o.Path = "/nsgo-no-such-prog"
				return
			}
			o.SetGroups = idmap.Allow
			o.Credential = &namespace.Credential{UID: 0, GID: 0, Groups: []uint32{4242}}
		}, "", nil},
	}
	eachPath(t, func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := takeCounts(t)
				o := base()
				c.mod(&o)
				p, err := namespace.Spawn(o)
				if err != nil && strings.Contains(err.Error(), ": test: ") {
					t.Skip(err)
				}
				if err == nil {
					st, werr := p.Wait()
					t.Fatalf("spawn worked (%v %v); want a failure", st, werr)
				}
				var ce *namespace.ChildError
				if !errors.As(err, &ce) {
					t.Errorf("%v: not a ChildError", err)
				}
				if c.want != "" && !strings.Contains(err.Error(), c.want) {
					t.Errorf("%v: want %q", err, c.want)
				}
				if c.is != nil && !errors.Is(err, c.is) {
					t.Errorf("%v: not %v", err, c.is)
				}
				t.Log(err)
				checkNoLeak(t, before)
				// The next spawn works.
				p, err = namespace.Spawn(base())
				if err != nil {
					t.Fatal(err)
				}
				if st, err := p.Wait(); err != nil || !st.Success() {
					t.Errorf("after: %v %v", st, err)
				}
				checkNoLeak(t, before)
			})
		}
	})
}
