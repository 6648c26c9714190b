package namespace

// ChildError reports a step that failed in the child after clone(2) and before
// the program started: the child has been reaped and nothing of it remains.
// Err is the errno, so errors.Is(err, os.ErrNotExist) holds for a missing
// program and errors.Is(err, os.ErrPermission) for a refused step.
type ChildError struct {
	Step string // what the child was doing: "execve", "sethostname", "mount /proc", ...
	Err  error  // a syscall.Errno
}

func (e *ChildError) Error() string { return "child " + e.Step + ": " + e.Err.Error() }

// Unwrap returns Err.
func (e *ChildError) Unwrap() error { return e.Err }
