package namespace

// The loopback device of a new network namespace: the parent's plan
// (planNet) and the child's step (childNet).

import (
	"errors"
)

// netPlan is what the child needs to bring up lo.
type netPlan struct {
	loopback bool
}

// planNet checks Loopback and fills the plan.
func (s *spawn) planNet() error {
	o := s.opts
	if !o.Loopback {
		return nil
	}
	if !o.New.Has(Net) {
		return errors.New("Loopback needs a new net namespace (New has " + o.New.String() + ")")
	}
	return errors.New("Loopback: not implemented yet")
}

// netStepName names a step of the net family, or returns "".
func (s *spawn) netStepName(step, idx uint32) string {
	return ""
}
