package namespace

// haveVfork says whether this architecture has rawVforkClone.
const haveVfork = true

// rawVforkClone is clone(2) with the caller's stack, for CLONE_VM|CLONE_VFORK;
// see vfork_linux_amd64.s.
//
//go:noescape
func rawVforkClone(flags uintptr, ptid *int32) (pid, errno uintptr)
