#include "textflag.h"

// func rawVforkClone(flags uintptr, ptid *int32) (pid, errno uintptr)
//
// clone(2) for CLONE_VM|CLONE_VFORK with the caller's stack: the child runs on
// this very stack until it execs while the parent thread sleeps, so the
// return address is kept in a register across the system call, which each
// thread has its own copy of, and pushed back after it. ptid is where
// CLONE_PARENT_SETTID stores the child's PID.
TEXT ·rawVforkClone(SB),NOSPLIT|NOFRAME,$0-32
	MOVQ	flags+0(FP), DI
	MOVQ	$0, SI
	MOVQ	ptid+8(FP), DX
	MOVQ	$0, R10
	MOVQ	$0, R8
	MOVQ	$56, AX	// SYS_clone
	POPQ	R12
	SYSCALL
	PUSHQ	R12
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	MOVQ	$-1, pid+16(FP)
	NEGQ	AX
	MOVQ	AX, errno+24(FP)
	RET
ok:
	MOVQ	AX, pid+16(FP)
	MOVQ	$0, errno+24(FP)
	RET
