package namespace

// The loopback device of a new network namespace: the parent's plan
// (planNet) and the child's step (childNet).

import (
	"encoding/binary"
	"errors"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Steps of the net family, as reported through the error pipe.
const (
	stepNetSocket uint32 = 210 + iota
	stepNetGetFlags
	stepNetSetFlags
)

// netPlan is what the child needs to bring up lo.
type netPlan struct {
	loopback bool
	ifr      [40]byte // struct ifreq: "lo", then the flags that SIOCGIFFLAGS writes
	upByte   int      // the byte of ifr's flags that holds IFF_UP
}

// planNet checks Loopback and fills the plan.
func (s *spawn) planNet() error {
	o, n := s.opts, &s.plan.net
	if !o.Loopback {
		return nil
	}
	if !o.New.Has(Net) {
		return errors.New("Loopback needs a new net namespace (New has " + o.New.String() + ")")
	}
	n.loopback = true
	copy(n.ifr[:unix.IFNAMSIZ], "lo")
	var flags [2]byte
	binary.NativeEndian.PutUint16(flags[:], unix.IFF_UP)
	n.upByte = unix.IFNAMSIZ
	if flags[0] == 0 {
		n.upByte++
	}
	return nil
}

// netStepName names a step of the net family, or returns "".
func (s *spawn) netStepName(step, idx uint32) string {
	switch step {
	case stepNetSocket:
		return "Loopback: socket AF_INET"
	case stepNetGetFlags:
		return "Loopback: ioctl SIOCGIFFLAGS lo"
	case stepNetSetFlags:
		return "Loopback: ioctl SIOCSIFFLAGS lo IFF_UP"
	}
	return ""
}

// childNet brings up lo in the new network namespace, keeping its other
// flags, as ip link set lo up does.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childNet(p *childPlan) {
	n := &p.net
	if !n.loopback {
		return
	}
	fd, _, e := syscall.RawSyscall6(syscall.SYS_SOCKET, unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0, 0, 0, 0)
	if e != 0 {
		childFail(p, stepNetSocket, e)
	}
	if _, _, e = syscall.RawSyscall6(syscall.SYS_IOCTL, fd, unix.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&n.ifr[0])), 0, 0, 0); e != 0 {
		childFail(p, stepNetGetFlags, e)
	}
	n.ifr[n.upByte] |= unix.IFF_UP
	if _, _, e = syscall.RawSyscall6(syscall.SYS_IOCTL, fd, unix.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&n.ifr[0])), 0, 0, 0); e != 0 {
		childFail(p, stepNetSetFlags, e)
	}
	syscall.RawSyscall6(syscall.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
}
