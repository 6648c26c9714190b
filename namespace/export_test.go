package namespace

import "golang.org/x/sys/unix"

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
// its own or on the caller's (vfork), as on a kernel older than 5.5; it
// returns the old setting.
func SetNoClone3(no bool) bool { return noClone3.Swap(no) }

// SetDoTestHook sets a function that Do runs on its thread before it reads
// the thread's namespace links.
func SetDoTestHook(fn func()) { doTestHook = fn }

// KeepThreadDir adds fd to the directories that Do keeps, as thread tid's
// /proc/thread-self/ns; Do closes it.
func KeepThreadDir(tid, fd int) { threadDirs.put(tid, nsDir{fd, threadNSDir}) }

// KeptThreadDirs returns the TIDs whose directories Do keeps.
func KeptThreadDirs() []int {
	threadDirs.mu.Lock()
	defer threadDirs.mu.Unlock()
	var tids []int
	for tid := range threadDirs.dirs {
		tids = append(tids, tid)
	}
	return tids
}

// DropThreadDirs closes every directory that Do keeps.
func DropThreadDirs() {
	threadDirs.mu.Lock()
	defer threadDirs.mu.Unlock()
	for tid, fd := range threadDirs.dirs {
		unix.Close(fd)
		delete(threadDirs.dirs, tid)
	}
}

// MaxThreadDirs is how many directories Do keeps at most.
const MaxThreadDirs = maxThreadDirs

// ChildPaths names the ways Spawn makes its child, for SetChildPath.
var ChildPaths = []string{"vfork", "own stack", "copy"}

// SetChildPath makes every Spawn take the named child path ("" for the
// default choice) and returns the old setting.
func SetChildPath(name string) string {
	old := forceChildPath
	switch name {
	case "":
		forceChildPath = pathAuto
	case "vfork":
		forceChildPath = pathVfork
	case "own stack":
		forceChildPath = pathOwnStack
	case "copy":
		forceChildPath = pathCopy
	default:
		panic("unknown child path " + name)
	}
	return [...]string{"", "vfork", "own stack", "copy"}[old]
}

// SetKillAfterRefork makes a child that forks the program's process kill
// itself with SIGKILL right after the fork; it returns the old setting.
func SetKillAfterRefork(on bool) bool {
	old := killAfterReforkTestHook
	killAfterReforkTestHook = on
	return old
}

// SetJoinPidfd says whether Handle.Spawn may enter a joined process's
// namespaces through its pidfd (the default) or only through the handle's
// descriptors, kind by kind; it returns the old setting.
func SetJoinPidfd(on bool) bool {
	old := !noJoinPidfdTestHook
	noJoinPidfdTestHook = !on
	return old
}
