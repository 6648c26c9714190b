package procfs_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nsgo/nsgo/procfs"
)

func TestParseLink(t *testing.T) {
	for in, want := range map[string]struct {
		k   procfs.Kind
		ino uint64
	}{
		"net:[4026531840]":            {procfs.Net, 4026531840},
		"mnt:[4026531841]":            {procfs.Mount, 4026531841},
		"time:[4026531834]":           {procfs.Time, 4026531834},
		"cgroup:[1]":                  {procfs.Cgroup, 1},
		"user:[18446744073709551615]": {procfs.User, 1<<64 - 1},
	} {
		k, ino, err := procfs.ParseLink(in)
		if err != nil || k != want.k || ino != want.ino {
			t.Errorf("ParseLink(%q) = %s, %d, %v; want %s, %d", in, k, ino, err, want.k, want.ino)
		}
	}
	for _, in := range []string{
		"", "net", "net:", "net:[]", "net:[x]", "net:4026531840", "mount:[1]", "all:[1]",
		"pipe:[123]", "net:[-1]", "net:[+1]", "net:[1", "net:[18446744073709551616]", "/proc/1/ns/net",
	} {
		if k, ino, err := procfs.ParseLink(in); err == nil {
			t.Errorf("ParseLink(%q) = %s, %d, nil; want an error", in, k, ino)
		}
	}
}

func TestIDString(t *testing.T) {
	id := procfs.ID{Dev: 4, Ino: 4026531840}
	if got, want := id.String(), "4026531840 (dev 0:4)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func FuzzParseLink(f *testing.F) {
	for _, s := range []string{"net:[4026531840]", "pipe:[1]", "mnt:[0]", "user:[", "uts:[007]", "socket:[12]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, ino, err := procfs.ParseLink(s)
		if err != nil {
			return
		}
		if k&(k-1) != 0 || !k.Valid() {
			t.Fatalf("ParseLink(%q) kind %s is not one kind", s, k)
		}
		canon := fmt.Sprintf("%s:[%d]", k, ino)
		k2, ino2, err := procfs.ParseLink(canon)
		if err != nil || k2 != k || ino2 != ino {
			t.Fatalf("round trip %q -> %q -> %s %d %v", s, canon, k2, ino2, err)
		}
		if !strings.HasPrefix(s, k.String()+":[") {
			t.Fatalf("ParseLink(%q) = %s, which the text does not name", s, k)
		}
	})
}
