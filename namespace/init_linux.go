package namespace

// The process steps of a sandbox: PID 1 as a reaper (Init), a wait before
// execve (BlockFD), the caller's hook after the clone (OnClone), and a
// second user namespace that disables more (DisableUserNamespaces): the
// parent's plan (planInit) and the child's steps.

import (
	"errors"
)

// initPlan is what the child needs for these steps.
type initPlan struct {
	init bool
}

// planInit checks Init, BlockFD, OnClone and DisableUserNamespaces and
// fills the plan.
func (s *spawn) planInit() error {
	o := s.opts
	for _, c := range []struct {
		set   bool
		field string
	}{{o.Init, "Init"}, {o.BlockFD != nil, "BlockFD"}, {o.OnClone != nil, "OnClone"}, {o.DisableUserNamespaces, "DisableUserNamespaces"}} {
		if c.set {
			return errors.New(c.field + ": not implemented yet")
		}
	}
	return nil
}

// initStepName names a step of the init family, or returns "".
func (s *spawn) initStepName(step, idx uint32) string {
	return ""
}
