package namespace_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nsgo/nsgo/namespace"
	"golang.org/x/sys/unix"
)

func attackGetDump() int {
	d, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	return d
}

func attackSetDump(t *testing.T, v int) {
	if _, err := unix.PrctlRetInt(unix.PR_SET_DUMPABLE, uintptr(v), 0, 0, 0); err != nil {
		t.Fatal(err)
	}
}

// attackShiftedTarget starts sleep in a new user namespace mapping 0 to
// 100000 (65536 IDs), with new PID and mount namespaces.
func attackShiftedTarget(t *testing.T) *namespace.Process {
	t.Helper()
	uidMap, gidMap := rootMaps()
	p, err := namespace.Spawn(namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "1000"},
		New: namespace.User | namespace.PID | namespace.Mount, MountProc: true, UIDMap: uidMap, GIDMap: gidMap})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill(); p.Wait() })
	return p
}

// TestDumpableHandleSpawn: Handle.Spawn into a joined user namespace whose
// root is host uid 100000, with a credential change there (kuid changes),
// on every path, with and without Init, OnClone, BlockFD, failures; the
// caller's flag must end as it began, 0 or 1.
func TestDumpableHandleSpawn(t *testing.T) {
	if !privileged {
		t.Skip("needs root")
	}
	tp := attackShiftedTarget(t)
	h, err := namespace.Join(tp.Pid, namespace.User|namespace.PID|namespace.Mount)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	defer unix.PrctlRetInt(unix.PR_SET_DUMPABLE, 1, 0, 0, 0)
	type variant struct {
		name    string
		opts    func() (namespace.Options, func())
		wantErr bool
		panics  bool
	}
	base := func() namespace.Options {
		return namespace.Options{Path: "/bin/true", Credential: &namespace.Credential{UID: 5, GID: 5}}
	}
	variants := []variant{
		{name: "plain", opts: func() (namespace.Options, func()) { return base(), nil }},
		{name: "newpid", opts: func() (namespace.Options, func()) {
			o := base()
			o.New = namespace.PID
			return o, nil
		}},
		{name: "init", opts: func() (namespace.Options, func()) {
			o := base()
			o.New, o.Init = namespace.PID, true
			return o, nil
		}},
		{name: "onclone", opts: func() (namespace.Options, func()) {
			o := base()
			o.OnClone = func(int) error { time.Sleep(5 * time.Millisecond); return nil }
			return o, nil
		}},
		{name: "onclone-newpid-init", opts: func() (namespace.Options, func()) {
			o := base()
			o.New, o.Init = namespace.PID, true
			o.OnClone = func(int) error { return nil }
			return o, nil
		}},
		{name: "onclone-error", wantErr: true, opts: func() (namespace.Options, func()) {
			o := base()
			o.OnClone = func(int) error { return errors.New("no") }
			return o, nil
		}},
		{name: "onclone-panic", panics: true, opts: func() (namespace.Options, func()) {
			o := base()
			o.OnClone = func(int) error { panic("attack") }
			return o, nil
		}},
		{name: "blockfd", opts: func() (namespace.Options, func()) {
			r, w, _ := os.Pipe()
			go func() { time.Sleep(20 * time.Millisecond); w.Write([]byte{1}); w.Close() }()
			o := base()
			o.BlockFD = r
			return o, func() { r.Close() }
		}},
		{name: "baddir", wantErr: true, opts: func() (namespace.Options, func()) {
			o := base()
			o.Dir = "/nonexistent-attack"
			return o, nil
		}},
		{name: "baddir-init", wantErr: true, opts: func() (namespace.Options, func()) {
			o := base()
			o.New, o.Init = namespace.PID, true
			o.Dir = "/nonexistent-attack"
			return o, nil
		}},
		{name: "badpath", wantErr: true, opts: func() (namespace.Options, func()) {
			o := base()
			o.Path = "/nonexistent-attack"
			return o, nil
		}},
	}
	for _, path := range []string{"", "vfork", "own stack", "copy"} {
		for _, v := range variants {
			for _, start := range []int{0, 1} {
				t.Run(fmt.Sprintf("%q/%s/%d", path, v.name, start), func(t *testing.T) {
					skipOwnStackUnderRaceCover(t, path)
					defer namespace.SetChildPath(namespace.SetChildPath(path))
					o, done := v.opts()
					if done != nil {
						defer done()
					}
					attackSetDump(t, start)
					var p *namespace.Process
					var err error
					func() {
						defer func() {
							if r := recover(); r != nil && !v.panics {
								t.Errorf("panic %v", r)
							}
						}()
						p, err = h.Spawn(o)
					}()
					got := attackGetDump()
					attackSetDump(t, 1)
					if err != nil && !v.wantErr && !v.panics {
						if strings.Contains(err.Error(), ": test: ") {
							t.Skip(err)
						}
						t.Fatal(err)
					}
					if p != nil {
						p.Wait()
					}
					if got != start {
						t.Errorf("caller's dumpable %d after Handle.Spawn (err %v), was %d", got, err, start)
					}
				})
			}
		}
	}
}

// TestDumpableContext: SpawnContext cancelled during the set up.
func TestDumpableContext(t *testing.T) {
	if !privileged {
		t.Skip("needs root")
	}
	defer unix.PrctlRetInt(unix.PR_SET_DUMPABLE, 1, 0, 0, 0)
	uidMap, gidMap := rootMaps()
	for _, path := range []string{"", "own stack"} {
		for _, init := range []bool{false, true} {
			t.Run(fmt.Sprintf("%q/%v", path, init), func(t *testing.T) {
				skipOwnStackUnderRaceCover(t, path)
				defer namespace.SetChildPath(namespace.SetChildPath(path))
				attackSetDump(t, 1)
				ctx, cancel := context.WithCancel(context.Background())
				p, err := namespace.SpawnContext(ctx, namespace.Options{Path: "/bin/sleep", Args: []string{"sleep", "10"},
					New: namespace.User | namespace.PID, UIDMap: uidMap, GIDMap: gidMap, Init: init,
					OnClone: func(int) error { cancel(); return nil }})
				got := attackGetDump()
				if err == nil {
					p.Wait()
				}
				if got != 1 {
					t.Errorf("dumpable %d", got)
				}
			})
		}
	}
}

// TestDumpableConcurrent: many goroutines spawn at once, with and
// without credential changes, on every path; the caller's flag must end
// as it began.
func TestDumpableConcurrent(t *testing.T) {
	if !privileged {
		t.Skip("needs root")
	}
	defer unix.PrctlRetInt(unix.PR_SET_DUMPABLE, 1, 0, 0, 0)
	uidMap, gidMap := rootMaps()
	own, ownG := ownMaps()
	for _, start := range []int{0, 1} {
		t.Run(fmt.Sprint(start), func(t *testing.T) {
			attackSetDump(t, start)
			var wg sync.WaitGroup
			errs := make(chan error, 1000)
			for g := 0; g < 16; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; i < 15; i++ {
						o := namespace.Options{Path: "/bin/true", New: namespace.User | namespace.PID}
						switch (g + i) % 6 {
						case 0:
							o.UIDMap, o.GIDMap = uidMap, gidMap
						case 1:
							o.UIDMap, o.GIDMap, o.Init = uidMap, gidMap, true
						case 2:
							o.UIDMap, o.GIDMap = own, ownG
						case 3:
							o.UIDMap, o.GIDMap, o.DisableUserNamespaces = uidMap, gidMap, true
						case 4:
							o.UIDMap, o.GIDMap, o.New = uidMap, gidMap, namespace.User|namespace.PID|namespace.Time
						case 5:
							o.UIDMap, o.GIDMap = uidMap, gidMap
							o.OnClone = func(int) error { return nil }
						}
						p, err := namespace.Spawn(o)
						if err != nil {
							errs <- err
							continue
						}
						if st, err := p.Wait(); err != nil || !st.Success() {
							errs <- fmt.Errorf("%v %v", st, err)
						}
					}
				}(g)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if got := attackGetDump(); got != start {
				t.Errorf("dumpable %d after concurrent spawns, was %d", got, start)
			}
			attackSetDump(t, 1)
		})
	}
}
