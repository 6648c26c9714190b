//go:build linux && (386 || arm)

package namespace

import "syscall"

// On 386 and arm the plain calls take 16-bit IDs; these take 32-bit ones.
const (
	sysSetgroups = syscall.SYS_SETGROUPS32
	sysSetresgid = syscall.SYS_SETRESGID32
	sysSetresuid = syscall.SYS_SETRESUID32
)
