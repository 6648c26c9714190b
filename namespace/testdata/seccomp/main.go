// Command seccomp runs a command under a seccomp filter that answers clone3
// with an error, the way container runtimes' default profiles do (Docker's
// and Podman's answer ENOSYS; some answer EPERM). The namespace tests run
// under it in CI to prove that Spawn still works where clone3 is refused.
//
// Usage:
//
//	seccomp ENOSYS|EPERM|<errno name> command [arg...]
//
// It installs a classic-BPF filter on every thread of the process
// (SECCOMP_FILTER_FLAG_TSYNC), exports NSGO_SECCOMP_CLONE3=<errno name> so
// that the command can check that the filter is in effect, and execs the
// command (searched in PATH). Without CAP_SYS_ADMIN it sets no_new_privs
// first, which the kernel then requires. With it, it leaves no_new_privs
// unset, as runc and Docker do unless asked: no_new_privs would also strip
// setuid newuidmap of its privilege for every process below, and fail the
// rootless tests for a reason that has nothing to do with clone3. The filter allows every system call
// but clone3, and allows everything for an architecture other than the one
// it was built for, so that it only ever refuses the one call it names.
//
// It lives under testdata so that `go build ./...`, `go vet ./...` and
// `go test ./...` leave it alone; CI builds it by its explicit path.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// EnvVar names the variable the command finds the refused errno's name in.
const EnvVar = "NSGO_SECCOMP_CLONE3"

// auditArch is the AUDIT_ARCH_* value that the kernel puts in struct
// seccomp_data's arch field for a system call made with the native ABI of
// the architecture this program was built for.
var auditArch = map[string]uint32{
	"amd64":    unix.AUDIT_ARCH_X86_64,
	"386":      unix.AUDIT_ARCH_I386,
	"arm64":    unix.AUDIT_ARCH_AARCH64,
	"arm":      unix.AUDIT_ARCH_ARM,
	"riscv64":  unix.AUDIT_ARCH_RISCV64,
	"ppc64le":  unix.AUDIT_ARCH_PPC64LE,
	"ppc64":    unix.AUDIT_ARCH_PPC64,
	"s390x":    unix.AUDIT_ARCH_S390X,
	"loong64":  unix.AUDIT_ARCH_LOONGARCH64,
	"mips":     unix.AUDIT_ARCH_MIPS,
	"mipsle":   unix.AUDIT_ARCH_MIPSEL,
	"mips64":   unix.AUDIT_ARCH_MIPS64,
	"mips64le": unix.AUDIT_ARCH_MIPSEL64,
}

// x32SyscallBit marks a system call made with the x32 ABI on x86-64, whose
// seccomp_data.arch is AUDIT_ARCH_X86_64 too.
const x32SyscallBit = 0x40000000

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: seccomp ERRNO-NAME command [arg...]")
		os.Exit(2)
	}
	name := os.Args[1]
	errno, ok := errnoByName(name)
	if !ok {
		fatalf("unknown errno name %q (want e.g. ENOSYS or EPERM)", name)
	}
	arch, ok := auditArch[runtime.GOARCH]
	if !ok {
		fatalf("no AUDIT_ARCH value known for GOARCH=%s", runtime.GOARCH)
	}
	path, err := exec.LookPath(os.Args[2])
	if err != nil {
		fatalf("%v", err)
	}
	env := append(os.Environ(), EnvVar+"="+name)

	// no_new_privs and the filter go on this thread, which then execs; the
	// filter is synchronised to the process's other threads too, so that no
	// thread the runtime starts meanwhile escapes it.
	runtime.LockOSThread()
	if !hasSysAdmin() {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			fatalf("prctl(PR_SET_NO_NEW_PRIVS): %v", err)
		}
	}
	prog := filter(arch, uint32(unix.SYS_CLONE3), errno)
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog))); e != 0 {
		fatalf("seccomp(SECCOMP_SET_MODE_FILTER, TSYNC): %v", e)
	}
	runtime.KeepAlive(prog)
	err = syscall.Exec(path, os.Args[2:], env)
	fatalf("exec %s: %v", path, err)
}

// filter returns a classic-BPF program that answers the system call nr with
// errno when it is made with the ABI of arch, and allows everything else.
func filter(arch, nr uint32, errno syscall.Errno) []unix.SockFilter {
	const (
		offNr   = 0 // offsetof(struct seccomp_data, nr)
		offArch = 4 // offsetof(struct seccomp_data, arch)
	)
	ld := func(off uint32) unix.SockFilter {
		return unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: off}
	}
	// jeq jumps over jt instructions when A == k, and over jf otherwise.
	jeq := func(k uint32, jt, jf uint8) unix.SockFilter {
		return unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: jt, Jf: jf, K: k}
	}
	ret := func(k uint32) unix.SockFilter {
		return unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: k}
	}
	x32nr := nr
	if arch == unix.AUDIT_ARCH_X86_64 {
		x32nr = nr | x32SyscallBit
	}
	return []unix.SockFilter{
		/* 0 */ ld(offArch),
		/* 1 */ jeq(arch, 0, 3), // another ABI: allow
		/* 2 */ ld(offNr),
		/* 3 */ jeq(nr, 2, 0), // clone3: refuse
		/* 4 */ jeq(x32nr, 1, 0), // clone3 with the x32 ABI: refuse
		/* 5 */ ret(unix.SECCOMP_RET_ALLOW),
		/* 6 */ ret(unix.SECCOMP_RET_ERRNO | uint32(errno)&unix.SECCOMP_RET_DATA),
	}
}

// hasSysAdmin reports whether the calling thread has CAP_SYS_ADMIN in its
// effective set, which lets it install a seccomp filter without
// no_new_privs.
func hasSysAdmin() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[unix.CAP_SYS_ADMIN/32].Effective&(1<<(unix.CAP_SYS_ADMIN%32)) != 0
}

// errnoByName returns the errno whose name (as in errno(3)) is name.
func errnoByName(name string) (syscall.Errno, bool) {
	for e := syscall.Errno(1); e < 4096; e++ {
		if unix.ErrnoName(e) == name {
			return e, true
		}
	}
	return 0, false
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "seccomp: "+format+"\n", args...)
	os.Exit(1)
}
