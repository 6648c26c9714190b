//go:build linux && !amd64

package namespace

import "unsafe"

// haveVfork says whether this architecture has rawVforkClone: here it has
// not, and Spawn always copies the process.
const haveVfork = false

func rawVforkClone(trap, a1, a2, a3 uintptr) (pid, errno uintptr) {
	panic("no vfork clone on this architecture")
}

func rawVforkRefork(flags, ptid, kill uintptr) (errno uintptr) {
	panic("no vfork clone on this architecture")
}

func rawVforkInit(flags uintptr, p unsafe.Pointer, stackTop uintptr, fn unsafe.Pointer) (errno uintptr) {
	panic("no vfork clone on this architecture")
}

func rawCloneOwnStack(trap, a1, a2 uintptr, fn, arg unsafe.Pointer) (pid, errno uintptr) {
	panic("no CLONE_VM clone on this architecture")
}

// childOwnStackFn is nil: no child runs on a stack of its own here.
var childOwnStackFn unsafe.Pointer

// childInitEntryFn is nil: the init forks the program by a copy here.
var childInitEntryFn unsafe.Pointer
