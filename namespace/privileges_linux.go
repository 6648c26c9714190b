package namespace

// Limits, capabilities, no_new_privs and seccomp: the parent's plan
// (planPrivileges) and the child's steps (childRlimits and childBounding
// before the credentials change, childCaps after it, childSeccomp last of
// all before execve).

import "errors"

// Steps of the privileges family, as reported through the error pipe.
const (
	stepRlimit uint32 = 170 + iota
)

// Capabilities are the capability sets a program keeps.
type Capabilities struct{}

// Rlimit is a resource limit (setrlimit(2)): Resource is one of
// unix.RLIMIT_*.
type Rlimit struct {
	Resource   int
	Soft, Hard uint64
}

// privPlan is what the child needs for its limits and privileges.
type privPlan struct{}

// planPrivileges checks the privilege options and fills the plan.
func (s *spawn) planPrivileges() error {
	o := s.opts
	if o.NoNewPrivs || o.Capabilities != nil || len(o.Seccomp) > 0 || len(o.Rlimits) > 0 || o.Credential != nil && o.Credential.NoSetGroups {
		return errors.New("NoNewPrivs, Capabilities, Seccomp, Rlimits and Credential.NoSetGroups: not implemented yet")
	}
	return nil
}

// privStepName names a step of the privileges family, or returns "".
func (s *spawn) privStepName(step, idx uint32) string { return "" }

// childRlimits sets the resource limits.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childRlimits(p *childPlan) {}

// childBounding does what must precede the change of credentials: drop the
// bounding set, keep the capabilities across setresuid.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childBounding(p *childPlan) {}

// childCaps sets the capability sets once the credentials are the
// program's.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childCaps(p *childPlan) {}

// childSeccomp sets no_new_privs and installs the seccomp filter, the last
// steps before execve.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childSeccomp(p *childPlan) {}
