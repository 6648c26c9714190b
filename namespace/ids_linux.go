//go:build linux && !386 && !arm

package namespace

import "syscall"

// The system calls that take 32-bit user and group IDs.
const (
	sysSetgroups = syscall.SYS_SETGROUPS
	sysSetresgid = syscall.SYS_SETRESGID
	sysSetresuid = syscall.SYS_SETRESUID
)
