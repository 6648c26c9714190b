package namespace

// SetJoinTestHook sets a function that Join runs between pidfd_open and the
// opening of the namespace files.
func SetJoinTestHook(fn func(pid int)) { joinTestHook = fn }

// SetBeforeMapsTestHook sets a function that Spawn runs after the clone and
// before writing the ID maps.
func SetBeforeMapsTestHook(fn func(pid int)) { beforeMapsTestHook = fn }

// SetMaxNameLen changes the host name limit that Spawn checks, so that a
// test can make sethostname fail in the child; it returns the old limit.
func SetMaxNameLen(n int) int { old := maxNameLen; maxNameLen = n; return old }

// OnOwnThread runs fn on a locked thread that is not the main thread; when
// fn returns false the thread is discarded, and OnOwnThread returns once it
// is gone.
func OnOwnThread(fn func() (clean bool)) { onOwnThread(fn) }

// SetNoClone3 makes Spawn use clone and not clone3 for a child on a stack of
// its own, as on a kernel older than 5.5; it returns the old setting.
func SetNoClone3(no bool) bool { return noClone3.Swap(no) }

// SetDoTestHook sets a function that Do runs on its thread before it reads
// the thread's namespace links.
func SetDoTestHook(fn func()) { doTestHook = fn }
