package namespace

// SetMountsFallback makes Mounts skip statmount and read mountinfo: "thread"
// from a thread that entered the namespace, "process" from the joined
// process's /proc/PID/mountinfo, "" neither (the default: statmount where the
// kernel has it). It returns the old setting.
func SetMountsFallback(mode string) string {
	old := mountsFallbackTestHook
	switch mode {
	case "", "thread", "process":
		mountsFallbackTestHook = mode
	default:
		panic("unknown mounts fallback " + mode)
	}
	return old
}

// StatmountSupported reports whether Mounts found statmount and listmount
// with everything it needs; false until its first call.
func StatmountSupported() bool { return statmountState.Load() == 1 }

// ParseMountinfo is parseMountinfo, for tests of the parser.
var ParseMountinfo = parseMountinfo

// StatmountLayout returns the size of struct statmount, mnt_id_req and
// mnt_ns_info as nsgo defines them (and, as "NS_MNT_GET_INFO", the ioctl
// request it uses), and the offsets of the fields the kernel header gives,
// by name.
func StatmountLayout() (sizes map[string]uintptr, offsets map[string]uintptr) {
	return statmountSizes(), statmountOffsets()
}

// SetPIDsFallback makes PIDInside and PIDOutside read NSpid as on a kernel
// without the ioctls; it returns the old setting.
func SetPIDsFallback(on bool) bool { return noPIDIoctlTestHook.Swap(on) }

// PIDIoctlSupported reports whether the ioctls were found; false until the
// first translation.
func PIDIoctlSupported() bool { return pidIoctlState.Load() == 1 }

// SetAttachFail makes Attach fail at its last step, the move_mount, after it
// created the target; it returns the old setting.
func SetAttachFail(on bool) bool { old := attachFailTestHook; attachFailTestHook = on; return old }

// SetAttachThreadTestHook sets a function that Attach runs first on the
// thread that enters the mount namespace; it returns the old one.
func SetAttachThreadTestHook(fn func()) func() {
	old := attachThreadTestHook
	attachThreadTestHook = fn
	return old
}

// ResetProbes forgets what Mounts, PIDInside and PIDOutside found the
// kernel to have, so that the next call probes again.
func ResetProbes() {
	statmountState.Store(0)
	pidIoctlState.Store(0)
}
