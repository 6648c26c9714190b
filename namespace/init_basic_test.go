package namespace_test

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nsgo/nsgo/namespace"
)

// TestInitExitStatus: with Init, on every child path, the program's
// exit status and signal come back through the init, and nothing leaks.
func TestInitExitStatus(t *testing.T) {
	uidMap, gidMap := ownMaps()
	eachPath(t, func(t *testing.T) {
		for _, c := range []struct {
			script string
			code   int
		}{{"exit 0", 0}, {"exit 7", 7}, {"kill -TERM $$", 128 + 15}, {"echo $$ >/dev/null; exit 255", 255}} {
			before := takeCounts(t)
			var out strings.Builder
			p, err := namespace.Spawn(namespace.Options{Path: "/bin/sh", Args: []string{"sh", "-c", "echo $$; " + c.script},
				New: namespace.User | namespace.PID, UIDMap: uidMap, GIDMap: gidMap, Init: true, Stdout: &out})
			if err != nil {
				if strings.Contains(err.Error(), ": test: ") {
					t.Skip(err)
				}
				t.Fatal(err)
			}
			st, err := p.Wait()
			if err != nil || st.ExitCode() != c.code || out.String() != "2\n" {
				t.Errorf("%q: %v %v, output %q; want exit %d and 2", c.script, st, err, out.String(), c.code)
			}
			if ws := st.Sys().(syscall.WaitStatus); ws.Signaled() {
				t.Errorf("%q: the init was killed: %v", c.script, st)
			}
			checkNoLeak(t, before)
		}
	})
}

// TestInitTime: with a new time namespace and Init, the program
// (forked by the init with CLONE_VM) is in the init's time namespace, with
// its offsets.
func TestInitTime(t *testing.T) {
	uidMap, gidMap := ownMaps()
	var out strings.Builder
	p, err := namespace.Spawn(namespace.Options{Path: "/bin/sh", Args: []string{"sh", "-c", "cat /proc/self/timens_offsets; readlink /proc/self/ns/time"},
		New: namespace.User | namespace.PID | namespace.Time, UIDMap: uidMap, GIDMap: gidMap, Init: true, BoottimeOffset: 1000 * time.Hour, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	tm, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/time", p.Pid))
	st, err := p.Wait()
	if err != nil || !st.Success() || !strings.Contains(out.String(), "boottime      3600000") || !strings.HasSuffix(out.String(), tm+"\n") {
		t.Errorf("%v %v, output %q; init in %s", st, err, out.String(), tm)
	}
}
