package namespace

// SetJoinTestHook sets a function that Join runs between pidfd_open and the
// opening of the namespace files.
func SetJoinTestHook(fn func(pid int)) { joinTestHook = fn }
