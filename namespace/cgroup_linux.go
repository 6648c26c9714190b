package namespace

import (
	"errors"
	"os"
)

// CgroupDir names a cgroup v2 directory: by path, or by an open descriptor
// of it. The zero value names none.
type CgroupDir struct {
	Path string   // a directory under the cgroup2 mount, such as /sys/fs/cgroup/app
	File *os.File // an open directory of it; used instead of Path when set
}

// planCgroup checks Options.Cgroup and fills the plan.
func (s *spawn) planCgroup() error {
	if s.opts.Cgroup != (CgroupDir{}) {
		return errors.New("Cgroup: not implemented yet")
	}
	return nil
}

// cgroupStepName names a step of the cgroup family, or returns "".
func (s *spawn) cgroupStepName(step, idx uint32) string { return "" }
