package namespace

import "sync"

// ResetMountProbes makes Spawn ask the kernel again, on first use, which
// mount features it has (openat2, the mount API, mount_setattr).
func ResetMountProbes() {
	openat2Err = sync.OnceValue(probeOpenat2)
	mountAPIErr = sync.OnceValue(probeMountAPI)
	mountSetattrErr = sync.OnceValue(probeMountSetattr)
}
