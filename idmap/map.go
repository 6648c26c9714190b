package idmap

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// MaxRanges is the most ranges the kernel accepts in one map (since Linux
// 4.15; 5 before).
const MaxRanges = 340

// Range maps Count consecutive IDs: Inside in the namespace is Outside in the
// parent namespace, Inside+1 is Outside+1, and so on.
type Range struct {
	Inside  uint32 // first ID in the namespace
	Outside uint32 // first ID in the parent namespace
	Count   uint32 // number of IDs; at least 1
}

// String returns the range as one line of the kernel's format, without the
// newline: "0 100000 65536".
func (r Range) String() string {
	return fmt.Sprintf("%d %d %d", r.Inside, r.Outside, r.Count)
}

// end returns the first ID past the range on each side, as 64-bit numbers so
// that the sums cannot wrap.
func (r Range) end() (inside, outside uint64) {
	return uint64(r.Inside) + uint64(r.Count), uint64(r.Outside) + uint64(r.Count)
}

// Map is a user or group ID mapping: what /proc/PID/uid_map or gid_map holds.
type Map []Range

// String returns the map in the text format that the kernel reads from
// uid_map and gid_map: one "INSIDE OUTSIDE COUNT" line per range, each ending
// in a newline.
func (m Map) String() string {
	var b strings.Builder
	for _, r := range m {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// RangeError reports a range that breaks one of the kernel's rules.
type RangeError struct {
	Index   int    // position of the range in the map
	Range   Range  // the range itself
	Problem string // what is wrong with it
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("idmap: range %d %q: %s", e.Index, e.Range.String(), e.Problem)
}

// Validate checks m against the rules the kernel applies when a map is
// written: at least one range; in every range a Count above zero, first IDs
// below 4294967295, and Inside+Count and Outside+Count at most 4294967295; no
// two ranges overlapping inside, nor outside; at most MaxRanges ranges; and a
// text form shorter than a memory page. Whether the writer may map the
// outside IDs is the kernel's to decide when the map is written.
func (m Map) Validate() error {
	if len(m) == 0 {
		return fmt.Errorf("idmap: empty map")
	}
	if len(m) > MaxRanges {
		return &RangeError{Index: MaxRanges, Range: m[MaxRanges], Problem: fmt.Sprintf("more than %d ranges", MaxRanges)}
	}
	const limit = 1<<32 - 1
	for i, r := range m {
		bad := func(p string) error { return &RangeError{Index: i, Range: r, Problem: p} }
		in, out := r.end()
		switch {
		case r.Count == 0:
			return bad("count is zero")
		case r.Inside == limit:
			return bad("inside ID 4294967295 is reserved")
		case r.Outside == limit:
			return bad("outside ID 4294967295 is reserved")
		case in > limit:
			return bad("inside IDs run past 4294967294")
		case out > limit:
			return bad("outside IDs run past 4294967294")
		}
		for j, o := range m[:i] {
			oin, oout := o.end()
			if uint64(r.Inside) < oin && uint64(o.Inside) < in {
				return bad(fmt.Sprintf("inside IDs overlap range %d %q", j, o.String()))
			}
			if uint64(r.Outside) < oout && uint64(o.Outside) < out {
				return bad(fmt.Sprintf("outside IDs overlap range %d %q", j, o.String()))
			}
		}
	}
	if n := len(m.String()); n >= os.Getpagesize() {
		return fmt.Errorf("idmap: map text is %d bytes; the kernel takes less than %d", n, os.Getpagesize())
	}
	return nil
}

// Contains reports whether m maps the inside ID id, and to which outside ID.
func (m Map) Contains(id uint32) (outside uint32, ok bool) {
	for _, r := range m {
		if id >= r.Inside && uint64(id) < uint64(r.Inside)+uint64(r.Count) {
			return r.Outside + (id - r.Inside), true
		}
	}
	return 0, false
}

// Inside reports whether m maps some inside ID to the outside ID outside, and
// which one.
func (m Map) Inside(outside uint32) (id uint32, ok bool) {
	for _, r := range m {
		if outside >= r.Outside && uint64(outside) < uint64(r.Outside)+uint64(r.Count) {
			return r.Inside + (outside - r.Outside), true
		}
	}
	return 0, false
}

// CoversInside reports whether m maps every inside ID from start to
// start+count-1, across as many ranges as it takes.
func (m Map) CoversInside(start, count uint32) bool {
	next, end := uint64(start), uint64(start)+uint64(count)
	for next < end {
		found := false
		for _, r := range m {
			if in, _ := r.end(); uint64(r.Inside) <= next && next < in {
				next, found = in, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// Parse reads a map in the text format of /proc/PID/uid_map and gid_map: one
// range per line, three unsigned decimal numbers separated by blanks, each line
// ending in a newline (the last one may lack it). It accepts the kernel's
// padding and nothing else: no signs, no other bases, no blank lines, no
// comments. The empty text, which a user namespace shows before its map is
// written, is an empty map; any other map must pass Validate.
func Parse(text string) (Map, error) {
	if text == "" {
		return Map{}, nil
	}
	text = strings.TrimSuffix(text, "\n")
	var m Map
	for i, line := range strings.Split(text, "\n") {
		fields := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
		if len(fields) != 3 {
			return nil, fmt.Errorf("idmap: line %d %q: want 3 fields, got %d", i+1, line, len(fields))
		}
		var n [3]uint32
		for j, f := range fields {
			if f[0] < '0' || f[0] > '9' {
				return nil, fmt.Errorf("idmap: line %d %q: %q is not an unsigned decimal number", i+1, line, f)
			}
			v, err := strconv.ParseUint(f, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("idmap: line %d %q: %q is not a 32-bit ID", i+1, line, f)
			}
			n[j] = uint32(v)
		}
		m = append(m, Range{Inside: n[0], Outside: n[1], Count: n[2]})
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}
