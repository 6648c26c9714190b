package idmap

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// SubRange is a range of subordinate IDs delegated to a user in /etc/subuid
// or /etc/subgid: Count IDs from Start.
type SubRange struct {
	Start uint32
	Count uint32
}

// Contains reports whether the Count IDs from start are all in r.
func (r SubRange) Contains(start, count uint32) bool {
	return start >= r.Start && uint64(start)+uint64(count) <= uint64(r.Start)+uint64(r.Count)
}

// ParseSubIDs reads a subordinate ID file in the format of /etc/subuid and
// /etc/subgid (subuid(5)): lines of NAME:START:COUNT, where NAME is a login
// name or a numeric user ID; blank lines and lines starting with '#' are
// skipped. It returns the ranges of the lines whose NAME is one of owners. A
// malformed line is an error that names it, whoever it belongs to.
func ParseSubIDs(r io.Reader, owners ...string) ([]SubRange, error) {
	var out []SubRange
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 3 || f[0] == "" {
			return nil, fmt.Errorf("line %d %q: want NAME:START:COUNT", n, line)
		}
		var nums [2]uint32
		for i, s := range f[1:] {
			v, err := strconv.ParseUint(s, 10, 32)
			if err != nil || s[0] < '0' || s[0] > '9' {
				return nil, fmt.Errorf("line %d %q: %q is not an unsigned 32-bit number", n, line, s)
			}
			nums[i] = uint32(v)
		}
		if nums[1] == 0 {
			return nil, fmt.Errorf("line %d %q: count is zero", n, line)
		}
		if uint64(nums[0])+uint64(nums[1]) > 1<<32-1 {
			return nil, fmt.Errorf("line %d %q: range runs past 4294967294", n, line)
		}
		for _, o := range owners {
			if f[0] == o {
				out = append(out, SubRange{Start: nums[0], Count: nums[1]})
				break
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ReadSubUIDs returns the subordinate user IDs delegated to user in
// /etc/subuid. user is a login name or a numeric user ID; lines naming
// either form of the same user count. A missing file delegates nothing.
func ReadSubUIDs(user string) ([]SubRange, error) { return readSubIDs("/etc/subuid", user) }

// ReadSubGIDs returns the subordinate group IDs delegated to user in
// /etc/subgid, as ReadSubUIDs does.
func ReadSubGIDs(user string) ([]SubRange, error) { return readSubIDs("/etc/subgid", user) }

func readSubIDs(path, name string) ([]SubRange, error) {
	owners := []string{name}
	if u, err := lookupUser(name); err == nil {
		owners = []string{u.Username, u.Uid}
	}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := ParseSubIDs(f, owners...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

func lookupUser(name string) (*user.User, error) {
	if _, err := strconv.ParseUint(name, 10, 32); err == nil {
		return user.LookupId(name)
	}
	return user.Lookup(name)
}
