package procfs

import (
	"errors"
	"fmt"
)

// ErrNotSupported is matched (with errors.Is) by every error that says the
// running kernel lacks a feature: a namespace kind, a /proc file or an
// ioctl(2) request.
var ErrNotSupported = errors.New("not supported")

// NotSupportedError says which feature the running kernel lacks and which
// Linux version first had it. It matches ErrNotSupported.
type NotSupportedError struct {
	Feature string // "time namespaces"
	Version string // "5.6"; empty when unknown
}

func (e *NotSupportedError) Error() string {
	if e.Version == "" {
		return e.Feature + " not supported by this kernel"
	}
	return fmt.Sprintf("%s not supported by this kernel (requires Linux %s)", e.Feature, e.Version)
}

// Is makes errors.Is(err, ErrNotSupported) true.
func (e *NotSupportedError) Is(target error) bool { return target == ErrNotSupported }

// kindVersion is the Linux release that made each kind usable.
func kindVersion(k Kind) string {
	switch k {
	case Mount:
		return "2.4.19"
	case UTS, IPC:
		return "2.6.19"
	case PID:
		return "2.6.24"
	case Net:
		return "2.6.29"
	case User:
		return "3.8"
	case Cgroup:
		return "4.6"
	case Time:
		return "5.6"
	}
	return ""
}

// KindNotSupported returns the error for a namespace kind that the running
// kernel lacks, naming the release that introduced it.
func KindNotSupported(k Kind) error {
	return &NotSupportedError{Feature: k.String() + " namespaces", Version: kindVersion(k)}
}
