package procfs_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The test binary re-runs itself as a helper inside namespaces that a
	// test made for it.
	if os.Getenv("NSGO_PROCFS_HELPER") == "bind-mount" {
		os.Exit(bindMountHelper())
	}
	goleak.VerifyTestMain(m)
}
