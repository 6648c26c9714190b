package namespace

// Sessions, process groups and the controlling terminal: the parent's plan
// (planTerminal) and the child's steps (childSession, before the mounts, and
// childTerminal, once the program's descriptors are in place).

import "errors"

// Steps of the terminal family, as reported through the error pipe.
const (
	stepSetsid uint32 = 150 + iota
)

// termPlan is what the child needs for its session and terminal.
type termPlan struct{}

// planTerminal checks the terminal options and fills the plan.
func (s *spawn) planTerminal() error {
	o := s.opts
	if o.Setsid || o.Setpgid || o.Setctty || o.Foreground {
		return errors.New("Setsid, Setpgid, Setctty and Foreground: not implemented yet")
	}
	return nil
}

// termStepName names a step of the terminal family, or returns "".
func (s *spawn) termStepName(step, idx uint32) string { return "" }

// childSession makes the new session or process group.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childSession(p *childPlan) {}

// childTerminal sets the controlling terminal and the foreground group.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childTerminal(p *childPlan) {}
