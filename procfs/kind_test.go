package procfs_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nsgo/nsgo/procfs"
)

func TestKindString(t *testing.T) {
	for k, want := range map[procfs.Kind]string{
		0:                       "none",
		procfs.Mount:            "mnt",
		procfs.UTS:              "uts",
		procfs.IPC:              "ipc",
		procfs.Net:              "net",
		procfs.PID:              "pid",
		procfs.User:             "user",
		procfs.Cgroup:           "cgroup",
		procfs.Time:             "time",
		procfs.UTS | procfs.PID: "uts|pid",
		procfs.All:              "mnt|uts|ipc|net|pid|user|cgroup|time",
		procfs.Net | 0x1:        "net|0x1",
		procfs.Kind(0x100):      "0x100",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%#x).String() = %q, want %q", uint64(k), got, want)
		}
	}
}

func TestKindFlags(t *testing.T) {
	// The values are the kernel's clone flags (include/uapi/linux/sched.h).
	for k, want := range map[procfs.Kind]uint64{
		procfs.Mount: 0x00020000, procfs.UTS: 0x04000000, procfs.IPC: 0x08000000,
		procfs.Net: 0x40000000, procfs.PID: 0x20000000, procfs.User: 0x10000000,
		procfs.Cgroup: 0x02000000, procfs.Time: 0x00000080,
	} {
		if uint64(k) != want {
			t.Errorf("%s = %#x, want %#x", k, uint64(k), want)
		}
	}
}

func TestParseKinds(t *testing.T) {
	for in, want := range map[string]procfs.Kind{
		"uts":              procfs.UTS,
		"mount":            procfs.Mount,
		"mnt":              procfs.Mount,
		"uts,pid":          procfs.UTS | procfs.PID,
		"uts|pid":          procfs.UTS | procfs.PID,
		" net , ipc ":      procfs.Net | procfs.IPC,
		"all":              procfs.All,
		"time,cgroup,user": procfs.Time | procfs.Cgroup | procfs.User,
		"uts,uts":          procfs.UTS,
	} {
		got, err := procfs.ParseKinds(in)
		if err != nil || got != want {
			t.Errorf("ParseKinds(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for in, wantMsg := range map[string]string{
		"":         "empty list",
		"  ":       "empty list",
		"uts,,pid": "empty name",
		"uts|":     "empty name",
		"bogus":    `unknown kind "bogus"`,
		"UTS":      `unknown kind "UTS"`,
		"net,pdi":  `unknown kind "pdi"`,
		"0x100":    `unknown kind "0x100"`,
	} {
		_, err := procfs.ParseKinds(in)
		if err == nil || !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("ParseKinds(%q) error = %v, want one containing %q", in, err, wantMsg)
		}
	}
}

func TestKindEach(t *testing.T) {
	got := slices.Collect((procfs.Time | procfs.Mount | procfs.Net | 0x1).Each())
	want := []procfs.Kind{procfs.Mount, procfs.Net, procfs.Time}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Each (-want +got):\n%s", diff)
	}
	for k := range procfs.All.Each() {
		if k == procfs.User {
			break // stopping early must not panic
		}
	}
	if n := len(slices.Collect(procfs.All.Each())); n != 8 {
		t.Errorf("All has %d kinds, want 8", n)
	}
}

func TestKindHasValid(t *testing.T) {
	set := procfs.UTS | procfs.PID
	if !set.Has(procfs.UTS) || !set.Has(set) || set.Has(procfs.Net) || set.Has(procfs.UTS|procfs.Net) {
		t.Errorf("Has is wrong for %s", set)
	}
	if !set.Valid() || procfs.Kind(0).Valid() || (set | 1).Valid() {
		t.Error("Valid is wrong")
	}
}

func FuzzParseKinds(f *testing.F) {
	for _, s := range []string{"uts", "mnt,uts|pid", "all", "", ",", "mount", "net , ipc", "x|y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := procfs.ParseKinds(s)
		if err != nil {
			if k != 0 {
				t.Fatalf("ParseKinds(%q) returned %s with error %v", s, k, err)
			}
			return
		}
		if !k.Valid() {
			t.Fatalf("ParseKinds(%q) = %#x, not a valid set", s, uint64(k))
		}
		again, err := procfs.ParseKinds(k.String())
		if err != nil || again != k {
			t.Fatalf("round trip of %q: ParseKinds(%q) = %s, %v", s, k.String(), again, err)
		}
	})
}
