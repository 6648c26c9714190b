package namespace

import "unsafe"

// haveVfork says whether this architecture has rawVforkClone.
const haveVfork = true

// rawVforkClone is clone(2) with the caller's stack, for CLONE_VM|CLONE_VFORK;
// see vfork_linux_amd64.s.
//
//go:noescape
func rawVforkClone(flags uintptr) (pid, errno uintptr)

// rawCloneOwnStack is clone(2) with CLONE_VM and a stack of the child's own,
// whose child calls fn(arg); see vfork_linux_amd64.s.
//
//go:noescape
func rawCloneOwnStack(flags, stack uintptr, fn, arg unsafe.Pointer) (pid, errno uintptr)
