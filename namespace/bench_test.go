package namespace_test

import (
	"testing"

	"github.com/nsgo/nsgo/namespace"
)

// BenchmarkDo enters a network namespace and back. Compare with a raw locked
// thread setns round trip in the comparison program.
func BenchmarkDo(b *testing.B) {
	if !privileged {
		b.Skip("Do needs CAP_SYS_ADMIN")
	}
	h, err := namespace.Unshare(namespace.Net)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	for b.Loop() {
		if err := h.Do(func() error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
