package namespace_test

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/nsgo/nsgo/idmap"
	"github.com/nsgo/nsgo/namespace"
)

// initSecret stands for anything the caller keeps in its memory.
var initSecret = []byte("INIT-SECRET-0123456789abcdef")

// TestInitMemory: with Init, the program's parent is the init, PID 1 of
// the program's PID namespace, which lives on after the program's execve.
// The program must not write the caller's memory through /proc/1/mem (the
// init is a copy, never the caller's memory), and, where the caller has
// CAP_SYS_PTRACE, must not read it either (the init is not dumpable);
// both as the caller's own host user (own maps) and as another (root
// maps). Found by a review: on the own-stack path the init shared the
// caller's memory, and a program overwrote the caller's variable.
func TestInitMemory(t *testing.T) {
	addr := uintptr(unsafe.Pointer(&initSecret[0]))
	for _, path := range []string{"", "own stack", "copy"} {
		for _, maps := range []string{"root", "own"} {
			t.Run(fmt.Sprintf("%q/%s", path, maps), func(t *testing.T) {
				skipOwnStackUnderRaceCover(t, path)
				defer namespace.SetChildPath(namespace.SetChildPath(path))
				uidMap, gidMap := rootMaps()
				sg := idmap.Auto
				if maps == "own" {
					uidMap, gidMap = ownMaps()
					sg = idmap.Deny
				} else if !privileged {
					t.Skip("maps of other IDs than the caller's need root")
				}
				run := func(script string) string {
					var out strings.Builder
					p, err := namespace.Spawn(namespace.Options{Path: "/bin/sh", Args: []string{"sh", "-c", script},
						New: namespace.User | namespace.PID | namespace.Mount, MountProc: true, Init: true,
						UIDMap: uidMap, GIDMap: gidMap, SetGroups: sg, Stdout: &out, Stderr: &out})
					if err != nil {
						if strings.Contains(err.Error(), ": test: ") {
							t.Skip(err)
						}
						t.Fatal(err)
					}
					p.Wait()
					return out.String()
				}
				out := run(fmt.Sprintf("dd if=/proc/1/mem iflag=skip_bytes,count_bytes bs=64 skip=%d count=%d status=none", addr, len(initSecret)))
				if privileged && strings.Contains(out, string(initSecret)) {
					t.Errorf("the program read the caller's memory through its init's /proc/1/mem: %q", out)
				}
				wrote := run(fmt.Sprintf("printf PWNED | dd of=/proc/1/mem oflag=seek_bytes conv=notrunc bs=64 seek=%d status=none; echo $?", addr))
				if string(initSecret[:5]) == "PWNED" {
					copy(initSecret, "INIT-")
					t.Errorf("the program wrote the caller's memory through its init's /proc/1/mem (dd: %q)", wrote)
				}
				t.Logf("read: %q; write: %q", out, wrote)
			})
		}
	}
}
