package namespace

// Limits, capabilities, no_new_privs and seccomp: the parent's plan
// (planPrivileges) and the child's steps (childRlimits and childBounding
// before the credentials change, childCaps after it, childSeccomp last of
// all before execve).

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Steps of the privileges family, as reported through the error pipe. The
// index of a failure is the limit's index in Rlimits, or the capability.
const (
	stepRlimit          uint32 = 170 + iota
	stepCapBound               // dropping a capability from the bounding set
	stepCapBoundMissing        // a capability to keep is not in the bounding set
	stepKeepCaps
	stepCapGet
	stepCapSet
	stepAmbientClear
	stepAmbientRaise
	stepNoNewPrivs
	stepSeccomp
)

// Capabilities are the capability sets of the program once it runs: what
// CapBnd, CapPrm, CapEff, CapInh and CapAmb of its /proc/PID/status show
// right after execve(2) of a file that has neither file capabilities nor a
// set-user-ID or set-group-ID bit (such a file changes them as
// capabilities(7) says, within Bounding). They are capabilities in the
// program's own user namespace: the root of a new user namespace holds them
// over that namespace only. Nil Capabilities leave every set to the kernel,
// as without nsgo.
//
// The kernel makes the permitted and effective sets at execve out of the
// others, so not every combination can be, and Spawn refuses, before any
// clone, one that cannot:
//
//   - Effective equals Permitted: execve makes them equal.
//   - A program that runs as root (user ID 0 in its user namespace) gets
//     Bounding ∪ Inheritable as its permitted set: Permitted must be that,
//     so what root keeps is what its bounding set holds.
//   - Any other program gets its ambient set as its permitted set: Permitted
//     must equal Ambient. Only the ambient set carries capabilities across
//     execve to a program that is not root.
//   - Ambient is within Inheritable, and Inheritable within Bounding: no
//     capability is ambient unless inheritable and permitted, and none
//     outside the bounding set becomes inheritable.
//
// KeepCaps returns the sets that keep exactly the given capabilities,
// whether the program runs as root, as the root of a new user namespace, or
// as another user (through Credential; then by the ambient set, as bwrap's
// --cap-add with --uid does); DropCaps returns all but some (bwrap's
// --cap-drop).
//
// The child drops the bounding set before it changes its credentials (that
// needs CAP_SETPCAP, which a user other than root loses then), keeps its
// permitted set across setresuid(2) (PR_SET_KEEPCAPS), then sets the
// permitted, effective and inheritable sets (capset(2)) and the ambient set
// (PR_CAP_AMBIENT). No set can gain a capability that the child does not
// hold: without IgnoreMissing that is an error, before any clone where the
// child's capabilities are the caller's (no user namespace is created or
// entered), else from the child.
type Capabilities struct {
	// Bounding is the most that the program, and every program it runs,
	// can ever hold, through set-user-ID-root programs and file
	// capabilities too.
	Bounding CapSet
	// Permitted is what the program may use; Effective what it uses: both
	// the same once it runs (see above).
	Permitted CapSet
	Effective CapSet
	// Inheritable is what the program passes on through the execve of a
	// file whose inheritable file capabilities hold it, and what it may
	// make ambient.
	Inheritable CapSet
	// Ambient is what the program passes on through the execve of any
	// file without file capabilities, as a user other than root too.
	Ambient CapSet

	// IgnoreMissing leaves out of every set, with no error, the
	// capabilities that the child does not hold (a bounding set of the
	// caller's that lacks some, say), and those the kernel does not know,
	// so that AllCaps().Drop(c) means all but c wherever the program
	// runs. DropCaps sets it.
	IgnoreMissing bool
}

// KeepCaps returns the Capabilities with which the program keeps exactly
// set, as root or not: every one of the five sets is set. A program that
// runs as root keeps them through its bounding set, any other through its
// ambient set. (Docker gives root an empty inheritable and ambient set;
// clear those two for that.)
func KeepCaps(set CapSet) *Capabilities {
	return &Capabilities{Bounding: set, Permitted: set, Effective: set, Inheritable: set, Ambient: set}
}

// DropCaps returns the Capabilities with which the program keeps every
// capability that it would hold as root but caps, and none that the child
// does not hold (IgnoreMissing): bwrap's --cap-drop. With Credential a
// user other than root, the program gets them as ambient capabilities.
func DropCaps(caps ...Cap) *Capabilities {
	c := KeepCaps(AllCaps().Drop(caps...))
	c.IgnoreMissing = true
	return c
}

// Rlimit is a resource limit (setrlimit(2)): Resource is one of
// unix.RLIMIT_*, Soft and Hard the soft and hard limits,
// unix.RLIM_INFINITY for none. Raising a hard limit above the caller's
// needs CAP_SYS_RESOURCE in the initial user namespace: the root of a new
// user namespace may only lower it.
type Rlimit struct {
	Resource   int
	Soft, Hard uint64
}

// rlimitNames are the names of the resources, by number.
var rlimitNames = [...]string{
	"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE",
	"RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS",
	"RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
	"RLIMIT_RTPRIO", "RLIMIT_RTTIME",
}

// rlimitStep is one limit for prlimit64(2): its resource and its struct
// rlimit64 (soft, hard).
type rlimitStep struct {
	resource uintptr
	lim      [2]uint64
}

// privPlan is what the child needs for its limits and privileges.
type privPlan struct {
	rlimits []rlimitStep

	caps          bool    // set the capabilities
	ignoreMissing bool    // Capabilities.IgnoreMissing
	lastCap       uintptr // the highest capability the kernel knows
	bounding      uint64  // the bounding set to keep
	keepCaps      bool    // PR_SET_KEEPCAPS before setresuid
	capHdr        unix.CapUserHeader
	want          [2]unix.CapUserData // permitted, effective, inheritable as capset takes them
	data          [2]unix.CapUserData // the child's capget and capset buffer (IgnoreMissing)
	ambient       uint64
	boundKept     uint64 // written by the child: the bounding set it kept

	noNewPrivs bool
	seccomp    bool
	fprog      unix.SockFprog
	filter     []unix.SockFilter
	progs      []unix.SockFprog // SeccompFilters, installed after fprog
}

// seccompCheck, turned off only by tests, checks a seccomp program in the
// parent, before the clone, as the kernel will.
var seccompCheck = true

// readCallerSets reads the calling thread's permitted, effective and
// inheritable sets, by one capget(2); not the bounding set.
func readCallerSets() (callerCaps, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return callerCaps{}, os.NewSyscallError("capget", err)
	}
	return callerCaps{
		permitted:   CapSet(data[0].Permitted) | CapSet(data[1].Permitted)<<32,
		effective:   CapSet(data[0].Effective) | CapSet(data[1].Effective)<<32,
		inheritable: CapSet(data[0].Inheritable) | CapSet(data[1].Inheritable)<<32,
	}, nil
}

// callerCaps are the capability sets of the calling thread, which a child
// that enters no user namespace starts with.
type callerCaps struct {
	permitted, effective, inheritable, bounding CapSet
}

func readCallerCaps() (callerCaps, error) {
	c, err := readCallerSets()
	if err != nil {
		return c, err
	}
	for cp := Cap(0); cp <= lastCap(); cp++ {
		if r, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(cp), 0, 0, 0); err == nil && r == 1 {
			c.bounding = c.bounding.Add(cp)
		}
	}
	return c, nil
}

// capText is a set for an error message.
func capText(s CapSet) string {
	if s == 0 {
		return "none"
	}
	return s.String()
}

// planPrivileges checks the privilege options and fills the plan.
func (s *spawn) planPrivileges() error {
	o, q := s.opts, &s.plan.priv
	// The child's capabilities are the caller's unless it creates or
	// enters a user namespace, where it holds every one.
	inUserNS := o.New.Has(User) || s.joinedUser
	var caller *callerCaps
	callerHeld := func() (*callerCaps, error) {
		if caller == nil {
			c, err := readCallerCaps()
			if err != nil {
				return nil, err
			}
			caller = &c
		}
		return caller, nil
	}

	for i, r := range o.Rlimits {
		if err := s.planRlimit(i, r, inUserNS, callerHeld); err != nil {
			return err
		}
	}

	if c := o.Capabilities; c != nil {
		if err := s.planCaps(c, inUserNS, callerHeld); err != nil {
			return err
		}
	}

	q.noNewPrivs = o.NoNewPrivs
	if len(o.Seccomp) > 0 || len(o.SeccompFilters) > 0 {
		if err := s.planSeccomp(inUserNS, callerHeld); err != nil {
			return err
		}
	}
	return nil
}

// planRlimit checks Rlimits[i] and adds it to the plan.
func (s *spawn) planRlimit(i int, r Rlimit, inUserNS bool, callerHeld func() (*callerCaps, error)) error {
	if r.Resource < 0 || r.Resource >= len(rlimitNames) {
		return fmt.Errorf("invalid Rlimits[%d]: unknown resource %d", i, r.Resource)
	}
	name := rlimitNames[r.Resource]
	if r.Soft > r.Hard {
		return fmt.Errorf("invalid Rlimits[%d] (%s): soft limit %s above hard limit %s", i, name, limitText(r.Soft), limitText(r.Hard))
	}
	if r.Resource == unix.RLIMIT_NOFILE {
		if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
			if max, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && r.Hard > max {
				return fmt.Errorf("invalid Rlimits[%d] (%s): hard limit %s above the kernel's fs.nr_open, %d", i, name, limitText(r.Hard), max)
			}
		}
	}
	// The child starts with the caller's limits; raising a hard limit needs
	// CAP_SYS_RESOURCE in the initial user namespace, which a task in
	// another user namespace never has, whatever it holds there.
	var old unix.Rlimit
	if err := unix.Prlimit(0, r.Resource, nil, &old); err == nil && r.Hard > old.Max {
		why := ""
		if inUserNS {
			why = "which a child in a new or joined user namespace lacks"
		} else {
			c, err := callerHeld()
			if err != nil {
				return err
			}
			if !c.effective.Has(unix.CAP_SYS_RESOURCE) {
				why = "which the caller lacks"
			}
		}
		if why != "" {
			return fmt.Errorf("cannot apply Rlimits[%d] (%s): raising the hard limit from %s to %s needs CAP_SYS_RESOURCE in the initial user namespace, %s: %w",
				i, name, limitText(old.Max), limitText(r.Hard), why, os.ErrPermission)
		}
	}
	s.plan.priv.rlimits = append(s.plan.priv.rlimits, rlimitStep{resource: uintptr(r.Resource), lim: [2]uint64{r.Soft, r.Hard}})
	return nil
}

// limitText is a limit for an error message.
func limitText(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}

// programIsRoot reports whether the program runs as user ID 0 of its user
// namespace, which the kernel gives every capability of the bounding set at
// execve.
func (s *spawn) programIsRoot() bool {
	p := &s.plan
	switch {
	case p.setUID:
		return p.uid == 0
	case s.opts.New.Has(User):
		return false // unmapped: the overflow ID
	}
	return os.Geteuid() == 0
}

// planCaps checks Capabilities and adds them to the plan.
func (s *spawn) planCaps(c *Capabilities, inUserNS bool, callerHeld func() (*callerCaps, error)) error {
	q := &s.plan.priv
	known := AllCaps()
	want := *c
	for _, f := range []struct {
		name string
		set  *CapSet
	}{{"Bounding", &want.Bounding}, {"Permitted", &want.Permitted}, {"Effective", &want.Effective}, {"Inheritable", &want.Inheritable}, {"Ambient", &want.Ambient}} {
		if unknown := *f.set &^ known; unknown != 0 && !c.IgnoreMissing {
			return fmt.Errorf("invalid Capabilities.%s: %s unknown to this kernel (cap_last_cap is %d)", f.name, unknown, lastCap())
		}
		*f.set &= known
	}
	root := s.programIsRoot()
	who := "a program that does not run as root"
	if root {
		who = "a program that runs as root (user ID 0 in its user namespace)"
	}
	switch {
	case want.Effective != want.Permitted:
		return fmt.Errorf("Capabilities.Effective (%s) differs from Permitted (%s): execve makes the effective set the permitted set", capText(want.Effective), capText(want.Permitted))
	case want.Ambient&^want.Inheritable != 0:
		return fmt.Errorf("Capabilities.Ambient has %s, not in Inheritable: an ambient capability must be inheritable and permitted", want.Ambient&^want.Inheritable)
	case want.Inheritable&^want.Bounding != 0:
		return fmt.Errorf("Capabilities.Inheritable has %s, not in Bounding: no capability outside the bounding set becomes inheritable", want.Inheritable&^want.Bounding)
	case root && want.Permitted != want.Bounding|want.Inheritable:
		return fmt.Errorf("Capabilities.Permitted is %s, but %s gets its bounding and inheritable sets at execve, %s", capText(want.Permitted), who, capText(want.Bounding|want.Inheritable))
	case !root && want.Permitted != want.Ambient:
		return fmt.Errorf("Capabilities.Permitted is %s, but %s gets its ambient set at execve, %s", capText(want.Permitted), who, capText(want.Ambient))
	}
	if !inUserNS {
		// The child holds what the caller holds: what it lacks is an
		// error here, not in the child.
		held, err := callerHeld()
		if err != nil {
			return err
		}
		if drop := held.bounding &^ want.Bounding; drop != 0 && !held.effective.Has(unix.CAP_SETPCAP) {
			return fmt.Errorf("Capabilities.Bounding: dropping %s from the bounding set needs CAP_SETPCAP, which the caller lacks (create a user namespace, whose root has it): %w", drop, os.ErrPermission)
		}
		if !c.IgnoreMissing {
			for _, m := range []struct {
				name      string
				set, held CapSet
				what      string
			}{
				{"Bounding", want.Bounding, held.bounding, "the caller's bounding set lacks"},
				{"Permitted", want.Permitted, held.permitted, "the caller does not hold"},
				{"Inheritable", want.Inheritable, held.permitted | held.inheritable, "the caller neither holds nor has inheritable"},
			} {
				if miss := m.set &^ m.held; miss != 0 {
					return fmt.Errorf("cannot keep Capabilities.%s: %s, which %s: no process gains a capability (IgnoreMissing leaves out those the child lacks): %w", m.name, miss, m.what, os.ErrPermission)
				}
			}
		}
	}
	q.caps = true
	q.ignoreMissing = c.IgnoreMissing
	q.lastCap = uintptr(lastCap())
	q.bounding = uint64(want.Bounding)
	// setresuid from root to another user empties the permitted set unless
	// the child keeps it (the flag ends at execve): capset then takes the
	// permitted and inheritable sets from it.
	q.keepCaps = s.plan.setUID && s.plan.uid != 0 && want.Permitted|want.Inheritable != 0
	q.capHdr = unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	for i := range q.want {
		q.want[i] = unix.CapUserData{
			Effective:   uint32(want.Effective >> (32 * i)),
			Permitted:   uint32(want.Permitted >> (32 * i)),
			Inheritable: uint32(want.Inheritable >> (32 * i)),
		}
	}
	q.ambient = uint64(want.Ambient)
	return nil
}

// planSeccomp checks the seccomp program and adds it to the plan.
func (s *spawn) planSeccomp(inUserNS bool, callerHeld func() (*callerCaps, error)) error {
	o, p, q := s.opts, &s.plan, &s.plan.priv
	if seccompCheck && len(o.Seccomp) > 0 {
		if err := checkSeccomp(o.Seccomp); err != nil {
			return fmt.Errorf("invalid Seccomp: %w", err)
		}
	}
	for i, f := range o.SeccompFilters {
		if len(f) == 0 {
			return fmt.Errorf("SeccompFilters[%d] is empty", i)
		}
		if seccompCheck {
			if err := checkSeccomp(f); err != nil {
				return fmt.Errorf("invalid SeccompFilters[%d]: %w", i, err)
			}
		}
	}
	if !o.NoNewPrivs {
		// Without no_new_privs (the caller's own, or NoNewPrivs), the kernel
		// takes a filter only from a task with CAP_SYS_ADMIN in its user
		// namespace: the child's effective set at that step.
		nnp, err := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
		if err != nil {
			return os.NewSyscallError("prctl PR_GET_NO_NEW_PRIVS", err)
		}
		if nnp != 1 {
			var why string
			switch c := o.Capabilities; {
			case c != nil:
				switch {
				case !c.Effective.Has(unix.CAP_SYS_ADMIN):
					why = "which Capabilities.Effective leaves out"
				case !inUserNS && c.IgnoreMissing:
					// The child holds what the caller holds, and
					// IgnoreMissing leaves out what it does not.
					held, err := callerHeld()
					if err != nil {
						return err
					}
					if !held.permitted.Has(unix.CAP_SYS_ADMIN) {
						why = "which the caller lacks (Capabilities.IgnoreMissing leaves it out)"
					}
				}
			case inUserNS:
				if p.setUID && p.uid != 0 {
					why = fmt.Sprintf("which user %d loses with the change of credentials", p.uid)
				}
			default:
				held, err := callerHeld()
				if err != nil {
					return err
				}
				switch {
				case !held.effective.Has(unix.CAP_SYS_ADMIN):
					why = "which the caller lacks"
				case p.setUID && p.uid != 0 && os.Geteuid() == 0:
					why = fmt.Sprintf("which user %d loses with the change of credentials", p.uid)
				}
			}
			if why != "" {
				return fmt.Errorf("a Seccomp filter needs NoNewPrivs, or CAP_SYS_ADMIN where the child installs the filter, %s: %w", why, os.ErrPermission)
			}
		}
	}
	if len(o.Seccomp) > 0 {
		q.seccomp = true
		q.filter = append([]unix.SockFilter(nil), o.Seccomp...)
		q.fprog = unix.SockFprog{Len: uint16(len(q.filter)), Filter: &q.filter[0]}
	}
	for _, f := range o.SeccompFilters {
		f = append([]unix.SockFilter(nil), f...)
		q.progs = append(q.progs, unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]})
	}
	return nil
}

// bpfMaxInsns is the kernel's limit on a classic BPF program (BPF_MAXINSNS).
const bpfMaxInsns = 4096

// checkSeccomp checks a classic BPF program as the kernel does before it
// installs it as a seccomp filter (bpf_check_classic and
// seccomp_check_filter), so that a bad one is an error before any clone,
// naming the instruction.
func checkSeccomp(prog []unix.SockFilter) error {
	n := len(prog)
	if n == 0 {
		return nil
	}
	if n > bpfMaxInsns {
		return fmt.Errorf("%d instructions, more than the kernel's %d: %w", n, bpfMaxInsns, syscall.EINVAL)
	}
	const seccompDataSize = 64 // sizeof(struct seccomp_data)
	jumpErr := func(pc, off int) error {
		return fmt.Errorf("instruction %d jumps to %d, past the last one, %d: %w", pc, pc+1+off, n-1, syscall.EINVAL)
	}
	for pc, ins := range prog {
		bad := func(why string) error {
			return fmt.Errorf("instruction %d (code %#x, k %d): %s: %w", pc, ins.Code, ins.K, why, syscall.EINVAL)
		}
		switch ins.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			if ins.K >= seccompDataSize || ins.K&3 != 0 {
				return bad("a load outside struct seccomp_data or not 32-bit aligned")
			}
		case unix.BPF_ALU | unix.BPF_DIV | unix.BPF_K:
			if ins.K == 0 {
				return bad("a division by zero")
			}
		case unix.BPF_ALU | unix.BPF_LSH | unix.BPF_K, unix.BPF_ALU | unix.BPF_RSH | unix.BPF_K:
			if ins.K >= 32 {
				return bad("a shift by 32 bits or more")
			}
		case unix.BPF_LD | unix.BPF_MEM, unix.BPF_LDX | unix.BPF_MEM, unix.BPF_ST, unix.BPF_STX:
			if ins.K >= unix.BPF_MEMWORDS {
				return bad("a memory word past the 16th")
			}
		case unix.BPF_JMP | unix.BPF_JA:
			if int64(ins.K) >= int64(n-pc-1) {
				return jumpErr(pc, int(ins.K))
			}
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_X,
			unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGE | unix.BPF_X,
			unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGT | unix.BPF_X,
			unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K, unix.BPF_JMP | unix.BPF_JSET | unix.BPF_X:
			if pc+int(ins.Jt)+1 >= n {
				return jumpErr(pc, int(ins.Jt))
			}
			if pc+int(ins.Jf)+1 >= n {
				return jumpErr(pc, int(ins.Jf))
			}
		case unix.BPF_LD | unix.BPF_W | unix.BPF_LEN, unix.BPF_LDX | unix.BPF_W | unix.BPF_LEN,
			unix.BPF_RET | unix.BPF_K, unix.BPF_RET | unix.BPF_A,
			unix.BPF_ALU | unix.BPF_ADD | unix.BPF_K, unix.BPF_ALU | unix.BPF_ADD | unix.BPF_X,
			unix.BPF_ALU | unix.BPF_SUB | unix.BPF_K, unix.BPF_ALU | unix.BPF_SUB | unix.BPF_X,
			unix.BPF_ALU | unix.BPF_MUL | unix.BPF_K, unix.BPF_ALU | unix.BPF_MUL | unix.BPF_X,
			unix.BPF_ALU | unix.BPF_DIV | unix.BPF_X,
			unix.BPF_ALU | unix.BPF_AND | unix.BPF_K, unix.BPF_ALU | unix.BPF_AND | unix.BPF_X,
			unix.BPF_ALU | unix.BPF_OR | unix.BPF_K, unix.BPF_ALU | unix.BPF_OR | unix.BPF_X,
			unix.BPF_ALU | unix.BPF_XOR | unix.BPF_K, unix.BPF_ALU | unix.BPF_XOR | unix.BPF_X,
			unix.BPF_ALU | unix.BPF_LSH | unix.BPF_X, unix.BPF_ALU | unix.BPF_RSH | unix.BPF_X,
			unix.BPF_ALU | unix.BPF_NEG, unix.BPF_LD | unix.BPF_IMM, unix.BPF_LDX | unix.BPF_IMM,
			unix.BPF_MISC | unix.BPF_TAX, unix.BPF_MISC | unix.BPF_TXA:
		default:
			return bad("an instruction that seccomp does not take")
		}
	}
	if last := prog[n-1].Code; last != unix.BPF_RET|unix.BPF_K && last != unix.BPF_RET|unix.BPF_A {
		return fmt.Errorf("the last instruction, %d, does not return (code %#x): %w", n-1, last, syscall.EINVAL)
	}
	// Every memory word is stored before it is loaded, on every path
	// (check_load_and_stores): jumps go forward only.
	masks := make([]uint16, n)
	for i := range masks {
		masks[i] = 0xffff
	}
	valid := uint16(0)
	for pc, ins := range prog {
		valid &= masks[pc]
		switch ins.Code {
		case unix.BPF_ST, unix.BPF_STX:
			valid |= 1 << ins.K
		case unix.BPF_LD | unix.BPF_MEM, unix.BPF_LDX | unix.BPF_MEM:
			if valid&(1<<ins.K) == 0 {
				return fmt.Errorf("instruction %d loads memory word %d, which some path leaves unset: %w", pc, ins.K, syscall.EINVAL)
			}
		case unix.BPF_JMP | unix.BPF_JA:
			masks[pc+1+int(ins.K)] &= valid
			valid = 0xffff
		default:
			if ins.Code&0x07 == unix.BPF_JMP {
				masks[pc+1+int(ins.Jt)] &= valid
				masks[pc+1+int(ins.Jf)] &= valid
				valid = 0xffff
			}
		}
	}
	return nil
}

// privStepName names a step of the privileges family, or returns "".
func (s *spawn) privStepName(step, idx uint32) string {
	o, q := s.opts, &s.plan.priv
	capName := Cap(idx).String()
	switch step {
	case stepRlimit:
		if int(idx) < len(o.Rlimits) {
			r := o.Rlimits[idx]
			return fmt.Sprintf("setrlimit Rlimits[%d] %s soft %s hard %s", idx, rlimitNames[r.Resource], limitText(r.Soft), limitText(r.Hard))
		}
		return "setrlimit"
	case stepCapBound:
		return "drop " + capName + " from the bounding set"
	case stepCapBoundMissing:
		return "keep " + capName + " in the bounding set, which lacks it"
	case stepKeepCaps:
		return "prctl PR_SET_KEEPCAPS"
	case stepCapGet:
		return "capget"
	case stepCapSet:
		w := func(get func(d unix.CapUserData) uint32) string {
			return capText(CapSet(get(q.want[0])) | CapSet(get(q.want[1]))<<32)
		}
		return fmt.Sprintf("capset permitted %s, effective %s, inheritable %s",
			w(func(d unix.CapUserData) uint32 { return d.Permitted }),
			w(func(d unix.CapUserData) uint32 { return d.Effective }),
			w(func(d unix.CapUserData) uint32 { return d.Inheritable }))
	case stepAmbientClear:
		return "clear the ambient set"
	case stepAmbientRaise:
		return "raise " + capName + " in the ambient set"
	case stepNoNewPrivs:
		return "prctl PR_SET_NO_NEW_PRIVS"
	case stepSeccomp:
		if idx > 0 && int(idx) <= len(o.SeccompFilters) {
			return fmt.Sprintf("install SeccompFilters[%d] (%d instructions)", idx-1, len(o.SeccompFilters[idx-1]))
		}
		if o.NoNewPrivs {
			return fmt.Sprintf("install the seccomp filter (%d instructions)", len(q.filter))
		}
		return fmt.Sprintf("install the seccomp filter (%d instructions; without NoNewPrivs it needs CAP_SYS_ADMIN)", len(q.filter))
	}
	return ""
}

// childRlimits sets the resource limits, but for RLIMIT_NOFILE with
// DisableUserNamespaces: childNestUser opens /proc files after the change
// of credentials, which a low limit would refuse (EMFILE), and sets that
// one last (childRlimitsPass(p, true) there).
//
//go:nosplit
//go:norace
//go:nocheckptr
func childRlimits(p *childPlan) {
	childRlimitsPass(p, false)
}

// childRlimitsPass sets the limits of one pass: the late one has
// RLIMIT_NOFILE with DisableUserNamespaces, the other the rest.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childRlimitsPass(p *childPlan, late bool) {
	for i := 0; i < len(p.priv.rlimits); i++ {
		r := &p.priv.rlimits[i]
		if (r.resource == unix.RLIMIT_NOFILE && p.init.disableUserNS) != late {
			continue
		}
		if _, _, e := syscall.RawSyscall6(unix.SYS_PRLIMIT64, 0, r.resource, uintptr(unsafe.Pointer(&r.lim)), 0, 0, 0); e != 0 {
			childFailAt(p, stepRlimit, uint32(i), e)
		}
	}
}

// childBounding does what must precede the change of credentials: drop the
// bounding set, which needs CAP_SETPCAP, and keep the permitted set across
// setresuid.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childBounding(p *childPlan) {
	q := &p.priv
	if !q.caps {
		return
	}
	kept := uint64(0)
	for c := uintptr(0); c <= q.lastCap; c++ {
		want := q.bounding&(1<<c) != 0
		r, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAPBSET_READ, c, 0, 0, 0, 0)
		switch {
		case e != 0 || r != 1:
			if want && !q.ignoreMissing {
				childFailAt(p, stepCapBoundMissing, uint32(c), syscall.EPERM)
			}
		case want:
			kept |= 1 << c
		default:
			if _, _, e = syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, c, 0, 0, 0, 0); e != 0 {
				childFailAt(p, stepCapBound, uint32(c), e)
			}
		}
	}
	q.boundKept = kept
	if q.keepCaps {
		if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 1, 0, 0, 0, 0); e != 0 {
			childFail(p, stepKeepCaps, e)
		}
	}
}

// childCaps sets the permitted, effective, inheritable and ambient sets
// once the credentials are the program's.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childCaps(p *childPlan) {
	q := &p.priv
	if !q.caps {
		return
	}
	d := &q.want
	if q.ignoreMissing {
		// Keep of each set what the child holds.
		if _, _, e := syscall.RawSyscall6(unix.SYS_CAPGET, uintptr(unsafe.Pointer(&q.capHdr)), uintptr(unsafe.Pointer(&q.data[0])), 0, 0, 0, 0); e != 0 {
			childFail(p, stepCapGet, e)
		}
		for i := 0; i < 2; i++ {
			h, w := &q.data[i], &q.want[i]
			bound := uint32(q.boundKept >> (32 * i))
			h.Inheritable = w.Inheritable & (h.Inheritable | h.Permitted) & (h.Inheritable | bound)
			h.Permitted &= w.Permitted
			h.Effective = w.Effective & h.Permitted
		}
		d = &q.data
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&q.capHdr)), uintptr(unsafe.Pointer(&d[0])), 0, 0, 0, 0); e != 0 {
		childFail(p, stepCapSet, e)
	}
	// The ambient set: cleared, then raised (Linux 4.3; an older kernel
	// fails only when some are wanted).
	if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0, 0); e != 0 && q.ambient != 0 {
		childFail(p, stepAmbientClear, e)
	}
	both := uint64(d[0].Permitted&d[0].Inheritable) | uint64(d[1].Permitted&d[1].Inheritable)<<32
	for c := uintptr(0); c <= q.lastCap; c++ {
		if q.ambient&(1<<c) == 0 || q.ignoreMissing && both&(1<<c) == 0 {
			continue
		}
		if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, c, 0, 0, 0); e != 0 {
			childFailAt(p, stepAmbientRaise, uint32(c), e)
		}
	}
}

// childSeccomp sets no_new_privs and installs the seccomp filter, the last
// steps before execve.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childSeccomp(p *childPlan) {
	q := &p.priv
	if q.noNewPrivs {
		if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0); e != 0 {
			childFail(p, stepNoNewPrivs, e)
		}
	}
	if q.seccomp {
		if _, _, e := syscall.RawSyscall6(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&q.fprog)), 0, 0, 0); e != 0 {
			childFail(p, stepSeccomp, e)
		}
	}
	for i := 0; i < len(q.progs); i++ {
		if _, _, e := syscall.RawSyscall6(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&q.progs[i])), 0, 0, 0); e != 0 {
			childFailAt(p, stepSeccomp, uint32(i+1), e)
		}
	}
}
