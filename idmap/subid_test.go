package idmap_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/nsgo/nsgo/idmap"
)

func TestParseSubIDs(t *testing.T) {
	file := `# delegated ranges
alice:100000:65536

1000:200000:10
bob:300000:65536
  alice:500000:1  
`
	for owners, want := range map[string][]idmap.SubRange{
		"alice":      {{Start: 100000, Count: 65536}, {Start: 500000, Count: 1}},
		"alice,1000": {{Start: 100000, Count: 65536}, {Start: 200000, Count: 10}, {Start: 500000, Count: 1}},
		"bob":        {{Start: 300000, Count: 65536}},
		"carol":      nil,
	} {
		got, err := idmap.ParseSubIDs(strings.NewReader(file), strings.Split(owners, ",")...)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("owners %s (-want +got):\n%s", owners, diff)
		}
	}
	for text, want := range map[string]string{
		"alice:100000\n":             `line 1 "alice:100000": want NAME:START:COUNT`,
		"ok:1:1\nalice:1:2:3\n":      "line 2",
		":1:1\n":                     "want NAME:START:COUNT",
		"alice:x:1\n":                `"x" is not an unsigned 32-bit number`,
		"alice:-1:1\n":               "is not an unsigned",
		"alice:+1:1\n":               "is not an unsigned",
		"alice:1:0\n":                "count is zero",
		"alice:4294967295:1\n":       "runs past 4294967294",
		"alice:1:4294967296\n":       "is not an unsigned 32-bit number",
		"bob:1:1\n# fine\nbob:1:z\n": "line 3",
	} {
		// A malformed line is an error even when it is someone else's.
		_, err := idmap.ParseSubIDs(strings.NewReader(text), "carol")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSubIDs(%q) = %v, want an error containing %q", text, err, want)
		}
	}
}

func TestSubRangeContains(t *testing.T) {
	r := idmap.SubRange{Start: 100000, Count: 65536}
	for _, tc := range []struct {
		start, count uint32
		want         bool
	}{{100000, 65536, true}, {100000, 65537, false}, {99999, 1, false}, {165535, 1, true}, {165536, 1, false}, {4294967295, 4294967295, false}} {
		if got := r.Contains(tc.start, tc.count); got != tc.want {
			t.Errorf("Contains(%d, %d) = %v", tc.start, tc.count, got)
		}
	}
}

func TestReadSubUIDsMissingFile(t *testing.T) {
	// The host has no delegation for this made-up user; a missing file or
	// user delegates nothing, without an error.
	got, err := idmap.ReadSubUIDs("nsgo-no-such-user")
	if err != nil || len(got) != 0 {
		t.Errorf("ReadSubUIDs = %v, %v", got, err)
	}
}

func FuzzParseSubIDs(f *testing.F) {
	for _, s := range []string{"alice:100000:65536\n", "# c\n\n1000:1:1\n", "a:1", "a:4294967294:1\n", ":::\n", "a:1:0\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		owners := []string{"a", "alice", "1000"}
		got, err := idmap.ParseSubIDs(strings.NewReader(text), owners...)
		if err != nil {
			return
		}
		var b strings.Builder
		for _, r := range got {
			if r.Count == 0 || uint64(r.Start)+uint64(r.Count) > 1<<32-1 {
				t.Fatalf("ParseSubIDs(%q) returned the invalid range %+v", text, r)
			}
			fmt.Fprintf(&b, "a:%d:%d\n", r.Start, r.Count)
		}
		again, err := idmap.ParseSubIDs(strings.NewReader(b.String()), "a")
		if err != nil || !cmp.Equal(again, got, cmpopts.EquateEmpty()) {
			t.Fatalf("round trip of %q: %v, %v; first %v", text, again, err, got)
		}
	})
}
