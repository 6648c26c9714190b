package namespace

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// cloneError wraps errno from a clone(2) that was to create the namespaces
// of kinds with what the caller can do about it, where the errno tells:
// errors.Is still matches the errno and what it means (os.ErrPermission).
//
// The causes are those of clone(2): EPERM for kinds other than User, created
// without CAP_SYS_ADMIN; ENOSPC for a count of namespaces at its limit in
// /proc/sys/user (counted per user, in the owning user namespace and each one
// above it) or the nesting depth of 32 user or PID namespaces; EUSERS, which
// Linux 3.11 to 4.8 gave for that user namespace depth.
func cloneError(errno syscall.Errno, kinds Kind) error {
	err := os.NewSyscallError("clone", errno)
	kinds &= All &^ Time // the low byte of clone flags is the exit signal; time is unshared later
	var hint string
	switch errno {
	case unix.EPERM:
		if !kinds.Has(User) && kinds != 0 && !hasCapSysAdmin() {
			hint = fmt.Sprintf("creating %s namespaces needs CAP_SYS_ADMIN; unprivileged callers add namespace.User to New", kinds)
		}
	case unix.ENOSPC:
		if kinds != 0 {
			hint = limitHint(kinds)
		}
	case unix.EUSERS:
		if kinds.Has(User) {
			hint = "user namespaces nest 32 deep at most"
		}
	}
	if hint == "" {
		return err
	}
	return &hintError{err: err, hint: hint}
}

// limitHint says which limits creating namespaces of kinds can meet, with
// their values as the caller's user namespace shows them: only those that
// are 0, if any are.
func limitHint(kinds Kind) string {
	var limits, zero []string
	for k := range kinds.Each() {
		name := "max_" + k.String() + "_namespaces"
		b, err := os.ReadFile("/proc/sys/user/" + name)
		v := strings.TrimSpace(string(b))
		switch {
		case err != nil:
			limits = append(limits, "user."+name)
		case v == "0":
			zero = append(zero, "user."+name)
		default:
			limits = append(limits, fmt.Sprintf("user.%s (%s)", name, v))
		}
	}
	if len(zero) > 0 {
		// A limit of 0 refuses every new one: the cause, whatever the
		// counts and depths.
		return fmt.Sprintf("%s is 0 here: this user namespace allows no new ones", strings.Join(zero, " and "))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the caller's user reached %s, a count per user in this user namespace and each one above it", strings.Join(limits, " or "))
	var deep []string
	for _, k := range []Kind{User, PID} {
		if kinds.Has(k) {
			deep = append(deep, k.String())
		}
	}
	if len(deep) > 0 {
		fmt.Fprintf(&b, "; or %s namespaces are nested 32 deep already", strings.Join(deep, " or "))
	}
	return b.String()
}

// hintError is an error with what to do about it, in parentheses after it.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() + " (" + e.hint + ")" }
func (e *hintError) Unwrap() error { return e.err }
