package namespace

// SetJoinViaProc makes Join and Current open namespaces under /proc, as on a
// kernel before 6.11 (true), or through a pidfd where the kernel allows
// (false); it returns the old setting.
func SetJoinViaProc(on bool) bool {
	old := procNSTestHook
	procNSTestHook = on
	return old
}

// JoinViaPidfd reports whether Join opens namespaces through a pidfd now.
func JoinViaPidfd() bool { return viaPidfd() }

// SetNoRefs makes Ref and OpenRef behave as on a kernel before 6.18; it
// returns the old setting.
func SetNoRefs(on bool) bool {
	old := noRefsTestHook
	noRefsTestHook = on
	return old
}
