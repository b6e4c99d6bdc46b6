//go:build linux

#include "textflag.h"

// func clone3VM(args *cloneArgs, size uintptr, sp *childSpec) (pid uintptr, errno uintptr)
//
// clone3(2) with the child on the stack args gives it (CLONE_VM: it
// shares this process's memory), where it calls childMain(sp), which
// execs or exits; it never returns here. The parent gets the PID or the
// errno. sp crosses the system call in R12, which the kernel keeps.
TEXT ·clone3VM(SB),NOSPLIT,$0-40
	MOVQ	args+0(FP), DI
	MOVQ	size+8(FP), SI
	MOVQ	sp+16(FP), R12
	MOVQ	$435, AX // SYS_clone3
	SYSCALL
	CMPQ	AX, $0
	JEQ	child
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	NEGQ	AX
	MOVQ	$0, pid+24(FP)
	MOVQ	AX, errno+32(FP)
	RET
ok:
	MOVQ	AX, pid+24(FP)
	MOVQ	$0, errno+32(FP)
	RET
child:
	ANDQ	$-16, SP
	SUBQ	$16, SP
	MOVQ	R12, 0(SP)
	CALL	·childMain(SB)
	MOVL	$127, DI
	MOVL	$231, AX // SYS_exit_group
	SYSCALL
	INT	$3
