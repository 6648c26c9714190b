package namespace_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/nsgo/nsgo/namespace"
)

// TestCloseDuringDo closes a handle from another goroutine while Do's fn
// runs, then has fn use the handle again: the inner call must fail with
// os.ErrClosed, not wait for Close, which waits for Do.
func TestCloseDuringDo(t *testing.T) {
	if !privileged {
		t.Skip("Unshare and Do need CAP_SYS_ADMIN")
	}
	// Not unshareNet: its cleanup's Close would wait for ever after a
	// deadlock, and the test must fail, not hang.
	h, err := namespace.Unshare(namespace.Net)
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	done := make(chan error, 1)
	go func() {
		done <- h.Do(func() error {
			go func() { closed <- h.Close() }()
			time.Sleep(100 * time.Millisecond) // Close is waiting now
			if _, err := h.Spawn(namespace.Options{Path: "/bin/true"}); !errors.Is(err, os.ErrClosed) {
				return err
			}
			return h.Do(func() error { return nil })
		})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("inner Do: %v, want os.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("deadlock: Do did not return within 10s")
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}
