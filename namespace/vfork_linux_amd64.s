#include "textflag.h"

// func rawVforkClone(flags uintptr) (pid, errno uintptr)
//
// clone(2) for CLONE_VM|CLONE_VFORK with the caller's stack: the child runs on
// this very stack until it execs while the parent thread sleeps, so the
// return address is kept in a register across the system call, which each
// thread has its own copy of, and pushed back after it.
TEXT ·rawVforkClone(SB),NOSPLIT|NOFRAME,$0-24
	MOVQ	flags+0(FP), DI
	MOVQ	$0, SI
	MOVQ	$0, DX
	MOVQ	$0, R10
	MOVQ	$0, R8
	MOVQ	$56, AX	// SYS_clone
	POPQ	R12
	SYSCALL
	PUSHQ	R12
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	MOVQ	$-1, pid+8(FP)
	NEGQ	AX
	MOVQ	AX, errno+16(FP)
	RET
ok:
	MOVQ	AX, pid+8(FP)
	MOVQ	$0, errno+16(FP)
	RET
