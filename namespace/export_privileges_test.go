package namespace

// SetSeccompCheck turns on or off the parent's check of a seccomp program
// before the clone, so that a test can let the kernel judge it in the
// child; it returns the old setting.
func SetSeccompCheck(on bool) bool { old := seccompCheck; seccompCheck = on; return old }
