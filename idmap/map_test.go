package idmap_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nsgo/nsgo/idmap"
)

func TestValidate(t *testing.T) {
	many := make(idmap.Map, 341)
	for i := range many {
		many[i] = idmap.Range{Inside: uint32(i), Outside: uint32(i), Count: 1}
	}
	for _, tc := range []struct {
		name  string
		m     idmap.Map
		index int    // range the error names; -1 for a map-wide error
		want  string // part of the error; "" for a valid map
	}{
		{"root", idmap.Map{rng(0, 100000, 65536)}, 0, ""},
		{"identity of everything", idmap.Map{rng(0, 0, 4294967295)}, 0, ""},
		{"two ranges", idmap.Map{rng(0, 1000, 1), rng(1, 100000, 65536)}, 0, ""},
		{"340 ranges", many[:340], 0, ""},
		{"empty", idmap.Map{}, -1, "empty map"},
		{"zero count", idmap.Map{rng(0, 0, 1), rng(5, 5, 0)}, 1, "count is zero"},
		{"inside overflow", idmap.Map{rng(1, 0, 4294967295)}, 0, "inside IDs run past"},
		{"outside overflow", idmap.Map{rng(0, 4294967200, 100)}, 0, "outside IDs run past"},
		{"inside -1", idmap.Map{rng(4294967295, 0, 1)}, 0, "inside ID 4294967295"},
		{"outside -1", idmap.Map{rng(0, 4294967295, 1)}, 0, "outside ID 4294967295"},
		{"inside overlap", idmap.Map{rng(0, 1000, 10), rng(9, 2000, 5)}, 1, `inside IDs overlap range 0 "0 1000 10"`},
		{"outside overlap", idmap.Map{rng(0, 1000, 10), rng(100, 1005, 5)}, 1, "outside IDs overlap range 0"},
		{"same range twice", idmap.Map{rng(0, 0, 1), rng(0, 0, 1)}, 1, "overlap"},
		{"341 ranges", many, 340, "more than 340 ranges"},
		{"text too long", bigNumbers(200), -1, "map text is"},
	} {
		err := tc.m.Validate()
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: Validate() = %v, want nil", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want an error containing %q", tc.name, err, tc.want)
			continue
		}
		var re *idmap.RangeError
		if isRange := errors.As(err, &re); isRange != (tc.index >= 0) || (isRange && re.Index != tc.index) {
			t.Errorf("%s: Validate() = %#v, want a RangeError for range %d", tc.name, err, tc.index)
		}
	}
}

// bigNumbers returns n valid ranges whose text takes 33 bytes each.
func bigNumbers(n int) idmap.Map {
	m := make(idmap.Map, n)
	for i := range m {
		m[i] = idmap.Range{Inside: 4000000000 + uint32(i), Outside: 4000000000 + uint32(i), Count: 1}
	}
	return m
}

func TestStringParse(t *testing.T) {
	m := idmap.Map{rng(0, 100000, 65536), rng(65536, 1000, 1)}
	if got, want := m.String(), "0 100000 65536\n65536 1000 1\n"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for text, want := range map[string]idmap.Map{
		"":                                   {},
		"         0          0 4294967295\n": {{0, 0, 4294967295}},
		"         0     100000      65536\n     65536       1000          1\n": m,
		"0 100000 65536\n65536 1000 1":                                         m,
		"0\t1000\t1\n":                                                         {{0, 1000, 1}},
	} {
		got, err := idmap.Parse(text)
		if err != nil {
			t.Errorf("Parse(%q) error %v", text, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", text, diff)
		}
	}
	for text, want := range map[string]string{
		"0 0\n":              "want 3 fields, got 2",
		"0 0 1 1\n":          "want 3 fields, got 4",
		"\n":                 "want 3 fields, got 0",
		"0 0 1\n\n1 1 1\n":   "line 2",
		"0 0 -1\n":           "not an unsigned decimal",
		"+0 0 1\n":           "not an unsigned decimal",
		"0x10 0 1\n":         "not a 32-bit ID",
		"0 4294967296 1\n":   "not a 32-bit ID",
		"0 0 0\n":            "count is zero",
		"0 0 10\n5 100 1\n":  "inside IDs overlap",
		"# comment\n0 0 1\n": "want 3 fields",
		"0 0 1\n0 0 1\n":     "overlap",
	} {
		_, err := idmap.Parse(text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", text, err, want)
		}
	}
}

func TestContainsInside(t *testing.T) {
	m := idmap.Map{rng(0, 100000, 65536), rng(70000, 5, 1)}
	for _, tc := range []struct {
		id, out uint32
		ok      bool
	}{{0, 100000, true}, {65535, 165535, true}, {65536, 0, false}, {70000, 5, true}} {
		out, ok := m.Contains(tc.id)
		if out != tc.out || ok != tc.ok {
			t.Errorf("Contains(%d) = %d, %v; want %d, %v", tc.id, out, ok, tc.out, tc.ok)
		}
		if ok {
			back, ok := m.Inside(out)
			if !ok || back != tc.id {
				t.Errorf("Inside(%d) = %d, %v; want %d", out, back, ok, tc.id)
			}
		}
	}
	if _, ok := m.Inside(99999); ok {
		t.Error("Inside(99999) found a mapping")
	}
}

func TestCoversInside(t *testing.T) {
	m := idmap.Map{rng(0, 1000, 10), rng(10, 5000, 5), rng(100, 6000, 1)}
	for _, tc := range []struct {
		start, count uint32
		want         bool
	}{{0, 10, true}, {0, 15, true}, {5, 10, true}, {14, 1, true}, {14, 2, false}, {100, 1, true}, {99, 2, false}, {15, 85, false}} {
		if got := m.CoversInside(tc.start, tc.count); got != tc.want {
			t.Errorf("CoversInside(%d, %d) = %v", tc.start, tc.count, got)
		}
	}
	if !(idmap.Map{rng(0, 0, 4294967295)}).CoversInside(4294967200, 95) {
		t.Error("the initial namespace's map does not cover its top IDs")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"0 0 4294967295\n", "         0     100000      65536\n", "0 1000 1\n1 100000 65536\n",
		"", "\n", "0 0 0\n", "1 2", "0 0 10\n5 100 1\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := idmap.Parse(s)
		if err != nil {
			return
		}
		if len(m) > 0 {
			if err := m.Validate(); err != nil {
				t.Fatalf("Parse(%q) accepted an invalid map: %v", s, err)
			}
		}
		again, err := idmap.Parse(m.String())
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", s, m.String(), err)
		}
		if diff := cmp.Diff(m, again); diff != "" {
			t.Fatalf("round trip of %q (-first +second):\n%s", s, diff)
		}
	})
}
