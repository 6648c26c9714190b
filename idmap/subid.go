package idmap

import (
	"bufio"
	"fmt"
	"io"
	"os"
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
// either form of the same user count, the other form as /etc/passwd gives
// it (nsgo reads that file itself and links no C code, so a user known only
// through NSS, such as LDAP, counts in the form given). A missing file
// delegates nothing.
func ReadSubUIDs(user string) ([]SubRange, error) { return readSubIDs("/etc/subuid", user) }

// ReadSubGIDs returns the subordinate group IDs delegated to user in
// /etc/subgid, as ReadSubUIDs does: that file too names users, not groups.
func ReadSubGIDs(user string) ([]SubRange, error) { return readSubIDs("/etc/subgid", user) }

func readSubIDs(path, name string) ([]SubRange, error) {
	owners := []string{name}
	if login, uid, ok := lookupPasswd(passwdFile, name); ok {
		owners = []string{login, uid}
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

// passwdFile is where lookupPasswd reads users.
const passwdFile = "/etc/passwd"

// lookupPasswd finds a user by login name or numeric user ID in a file in
// the format of /etc/passwd (passwd(5)) and returns both forms. It reads
// the file itself, as Go's os/user does without cgo, rather than asking the
// C library's name service, so that nsgo links no C code: a user known only
// through NSS (LDAP, sssd) is not found, and ReadSubUIDs then matches the
// form it was given only.
func lookupPasswd(path, name string) (login, uid string, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", false
	}
	defer f.Close()
	_, numErr := strconv.ParseUint(name, 10, 32)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.SplitN(sc.Text(), ":", 4)
		if len(fields) < 4 || fields[0] == "" || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if numErr == nil && fields[2] == name || numErr != nil && fields[0] == name {
			return fields[0], fields[2], true
		}
	}
	return "", "", false
}
