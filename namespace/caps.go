package namespace

// Capability numbers and names, and sets of them (capabilities(7)).

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Cap is a capability, numbered as in <linux/capability.h>: the constants
// unix.CAP_CHOWN (0) to unix.CAP_CHECKPOINT_RESTORE (40) are Caps.
type Cap int

// capNames are the names of the capabilities up to CAP_CHECKPOINT_RESTORE
// (Linux 5.9), indexed by number.
var capNames = [...]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// maxCap is the highest capability number a CapSet holds.
const maxCap = 63

// ErrUnknownCap is the error, wrapped with the name, of ParseCap and
// ParseCaps for a name that is no capability.
var ErrUnknownCap = errors.New("unknown capability")

// String returns the capability's name, as "CAP_NET_ADMIN", or "CAP_41"
// for a number without a name here.
func (c Cap) String() string {
	if c >= 0 && int(c) < len(capNames) {
		return capNames[c]
	}
	return "CAP_" + strconv.Itoa(int(c))
}

// ParseCap returns the capability named name, in either case, with or
// without its "CAP_" prefix: "CAP_NET_ADMIN", "net_admin" and "cap_net_admin"
// are the same. A number ("12", "CAP_41") is taken as it is, up to 63. Any
// other name is an error that matches ErrUnknownCap.
func ParseCap(name string) (Cap, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	for i, known := range capNames {
		if n == known {
			return Cap(i), nil
		}
	}
	if v, err := strconv.ParseUint(n[len("CAP_"):], 10, 8); err == nil && v <= maxCap {
		return Cap(v), nil
	}
	return 0, fmt.Errorf("%w %q", ErrUnknownCap, name)
}

// CapSet is a set of capabilities: bit c stands for Cap c. The zero value
// is the empty set.
type CapSet uint64

// Caps returns the set of caps.
func Caps(caps ...Cap) CapSet { return CapSet(0).Add(caps...) }

// ParseCaps returns the set of the named capabilities: each name as ParseCap
// takes it, or a comma-separated list of them, or "all" for AllCaps (as in
// bwrap's --cap-drop ALL). An empty name is ignored.
func ParseCaps(names ...string) (CapSet, error) {
	var s CapSet
	for _, list := range names {
		for _, name := range strings.Split(list, ",") {
			switch strings.ToUpper(strings.TrimSpace(name)) {
			case "":
				continue
			case "ALL":
				s |= AllCaps()
				continue
			}
			c, err := ParseCap(name)
			if err != nil {
				return 0, err
			}
			s = s.Add(c)
		}
	}
	return s, nil
}

// AllCaps returns every capability that the running kernel knows, 0 to the
// number in /proc/sys/kernel/cap_last_cap (or to CAP_CHECKPOINT_RESTORE
// where that file cannot be read).
func AllCaps() CapSet {
	last := lastCap()
	if last >= maxCap {
		return ^CapSet(0)
	}
	return CapSet(1)<<(last+1) - 1
}

// Has reports whether c is in the set.
func (s CapSet) Has(c Cap) bool { return c >= 0 && c <= maxCap && s&(1<<c) != 0 }

// Add returns the set with caps added; numbers out of range (0 to 63) are
// ignored.
func (s CapSet) Add(caps ...Cap) CapSet {
	for _, c := range caps {
		if c >= 0 && c <= maxCap {
			s |= 1 << c
		}
	}
	return s
}

// Drop returns the set without caps: AllCaps().Drop(unix.CAP_NET_RAW) is
// every capability but CAP_NET_RAW.
func (s CapSet) Drop(caps ...Cap) CapSet { return s &^ Caps(caps...) }

// List returns the capabilities in the set, in increasing order.
func (s CapSet) List() []Cap {
	out := make([]Cap, 0, bits.OnesCount64(uint64(s)))
	for v := uint64(s); v != 0; v &= v - 1 {
		out = append(out, Cap(bits.TrailingZeros64(v)))
	}
	return out
}

// String returns the names of the capabilities in the set, separated by
// commas, as "CAP_NET_BIND_SERVICE,CAP_NET_ADMIN"; the empty set is "".
func (s CapSet) String() string {
	var b strings.Builder
	for i, c := range s.List() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c.String())
	}
	return b.String()
}

var lastCapOnce = sync.OnceValue(func() Cap {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && v >= 0 && v <= maxCap {
			return Cap(v)
		}
	}
	return Cap(len(capNames) - 1)
})

// lastCap is the highest capability the running kernel knows.
func lastCap() Cap { return lastCapOnce() }
