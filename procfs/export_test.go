package procfs

// SetNoHandles makes procfs behave as on a kernel without nsfs file handles
// and namespace IDs (before 6.18), or not; it returns the old setting.
func SetNoHandles(on bool) bool { return noHandlesTestHook.Swap(on) }

// SupportedViaPidfd is what Supported answers where /proc is not there.
func SupportedViaPidfd() Kind { return supportedViaPidfd() }
