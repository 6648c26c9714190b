#include "textflag.h"

// func rawVforkClone(trap, a1, a2, a3 uintptr) (pid, errno uintptr)
//
// clone(2) (trap SYS_clone, a1 the flags, a2 zero: the same stack, a3 the
// parent_tid pointer or zero) or clone3(2) (trap SYS_clone3, a1 the
// clone_args, with no stack, a2 their size, a3 zero), for
// CLONE_VM|CLONE_VFORK with the caller's stack: the child runs on this very
// stack until it execs while the parent thread sleeps, so the return address
// is kept in a register across the system call, which each thread has its
// own copy of, and pushed back after it.
TEXT ·rawVforkClone(SB),NOSPLIT|NOFRAME,$0-48
	MOVQ	trap+0(FP), AX
	MOVQ	a1+8(FP), DI
	MOVQ	a2+16(FP), SI
	MOVQ	a3+24(FP), DX
	MOVQ	$0, R10
	MOVQ	$0, R8
	POPQ	R12
	SYSCALL
	PUSHQ	R12
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	MOVQ	$-1, pid+32(FP)
	NEGQ	AX
	MOVQ	AX, errno+40(FP)
	RET
ok:
	MOVQ	AX, pid+32(FP)
	MOVQ	$0, errno+40(FP)
	RET

// func rawCloneOwnStack(trap, a1, a2 uintptr, fn, arg unsafe.Pointer) (pid, errno uintptr)
//
// clone(2) (trap SYS_clone, a1 the flags, a2 the stack top) or clone3(2)
// (trap SYS_clone3, a1 the clone_args, a2 their size), for CLONE_VM without
// CLONE_VFORK: the child runs on a stack of its own, a region of the
// parent's memory, while the parent goes on. The child calls the Go function
// whose func value is fn, with arg, by the register ABI directly (argument in
// AX, closure context in DX, X15 zero), not through an ABI wrapper, which
// the race detector could instrument. The child has no goroutine: R14, the g
// register, is zero, so that code that would use one faults at once instead
// of using whatever goroutine the parent's thread runs. fn must not return;
// if it does, the child exits with status 127.
TEXT ·rawCloneOwnStack(SB),NOSPLIT|NOFRAME,$0-56
	MOVQ	trap+0(FP), AX
	MOVQ	a1+8(FP), DI
	MOVQ	a2+16(FP), SI
	MOVQ	fn+24(FP), R12
	MOVQ	arg+32(FP), R13
	MOVQ	$0, DX
	MOVQ	$0, R10
	MOVQ	$0, R8
	SYSCALL
	CMPQ	AX, $0
	JEQ	child
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	MOVQ	$-1, pid+40(FP)
	NEGQ	AX
	MOVQ	AX, errno+48(FP)
	RET
ok:
	MOVQ	AX, pid+40(FP)
	MOVQ	$0, errno+48(FP)
	RET
child:
	MOVQ	R13, AX
	MOVQ	R12, DX
	MOVQ	0(DX), R12
	XORQ	R14, R14
	XORPS	X15, X15
	CALL	R12
	MOVQ	$127, DI
	MOVQ	$231, AX	// SYS_exit_group
	SYSCALL
	INT	$3

// func rawVforkRefork(flags, ptid, kill uintptr) (errno uintptr)
//
// clone(2) with flags (CLONE_VM|CLONE_VFORK among them) and the caller's
// stack, for a child that forks the program's process (see childRefork).
// It returns in that new process, with errno 0, and with the error if the
// clone failed. The child that called it never returns: once the new
// process has exec'd or exited it wakes on a stack that the new process
// has used meanwhile, whose frames and spilled arguments are no longer its
// own, so it exits here (after SIGKILLing itself if kill is not zero, for
// tests), with nothing but registers, which each task has its own copy of.
TEXT ·rawVforkRefork(SB),NOSPLIT|NOFRAME,$0-32
	MOVQ	$56, AX	// SYS_clone
	MOVQ	flags+0(FP), DI
	MOVQ	$0, SI
	MOVQ	ptid+8(FP), DX
	MOVQ	kill+16(FP), R13
	MOVQ	$0, R10
	MOVQ	$0, R8
	POPQ	R12
	SYSCALL
	PUSHQ	R12
	CMPQ	AX, $0
	JEQ	newproc
	CMPQ	AX, $0xfffffffffffff001
	JHI	failed
	CMPQ	R13, $0
	JEQ	leave
	MOVQ	$39, AX	// SYS_getpid
	SYSCALL
	MOVQ	AX, DI
	MOVQ	$9, SI	// SIGKILL
	MOVQ	$62, AX	// SYS_kill
	SYSCALL
leave:
	MOVQ	$0, DI
	MOVQ	$231, AX	// SYS_exit_group
	SYSCALL
	INT	$3
newproc:
	MOVQ	$0, errno+24(FP)
	RET
failed:
	NEGQ	AX
	MOVQ	AX, errno+24(FP)
	RET

// func rawVforkInit(flags uintptr, p unsafe.Pointer, stackTop uintptr, fn unsafe.Pointer) (errno uintptr)
//
// clone(2) with flags (CLONE_VM|CLONE_VFORK among them) and the caller's
// stack, for the init (see childInit). It returns in the new process, the
// program's, with errno 0, and with the error if the clone failed. The init
// that called it never returns: it wakes once the program's process has
// exec'd or exited, on a stack that process has used meanwhile, so it moves
// to stackTop, a stack of its own, and calls the Go function whose func
// value is fn with p and the program's PID, by the register ABI directly
// (arguments in AX and BX, closure context in DX, X15 zero), with R14, the g
// register, zero, as rawCloneOwnStack's child does. fn must not return; if
// it does, the init exits with status 127. Everything it needs after the
// system call is in registers, which each task has its own copy of.
TEXT ·rawVforkInit(SB),NOSPLIT|NOFRAME,$0-40
	MOVQ	$56, AX	// SYS_clone
	MOVQ	flags+0(FP), DI
	MOVQ	p+8(FP), R13
	MOVQ	stackTop+16(FP), R9
	MOVQ	fn+24(FP), BX
	MOVQ	$0, SI
	MOVQ	$0, DX
	MOVQ	$0, R10
	MOVQ	$0, R8
	POPQ	R12
	SYSCALL
	PUSHQ	R12
	CMPQ	AX, $0
	JEQ	newproc
	CMPQ	AX, $0xfffffffffffff001
	JHI	failed
	MOVQ	R9, SP
	MOVQ	BX, DX
	MOVQ	AX, BX
	MOVQ	R13, AX
	MOVQ	0(DX), R12
	XORQ	R14, R14
	XORPS	X15, X15
	CALL	R12
	MOVQ	$127, DI
	MOVQ	$231, AX	// SYS_exit_group
	SYSCALL
	INT	$3
newproc:
	MOVQ	$0, errno+32(FP)
	RET
failed:
	NEGQ	AX
	MOVQ	AX, errno+32(FP)
	RET
