package namespace_test

import (
	"sync"
	"testing"
	"time"

	"github.com/nsgo/nsgo/namespace"
)

// TestRaceCoverCopies spawns copied children (a time namespace takes one)
// from several goroutines while others keep the race runtime busy. Under
// go test -race -cover such a child inherits the race runtime's locks as
// they were at the fork, and one held then left it spinning for ever and
// Spawn waiting for ever (the adversarial review hung within seconds);
// Spawn now kills such a child and makes another. Every spawn must succeed.
func TestRaceCoverCopies(t *testing.T) {
	if !raceEnabled || testing.CoverMode() == "" {
		t.Skip("the hazard is in -race -cover builds only")
	}
	uidMap, gidMap := ownMaps()
	opts := namespace.Options{Path: "/bin/true", New: namespace.User | namespace.Time, UIDMap: uidMap, GIDMap: gidMap}
	stop := make(chan struct{})
	var load sync.WaitGroup
	for range 4 {
		load.Go(func() {
			var mu sync.Mutex
			m := map[int]int{}
			ch := make(chan int, 1)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				m[i%64] = i
				mu.Unlock()
				ch <- i
				<-ch
			}
		})
	}
	defer func() { close(stop); load.Wait() }()
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for range 10 {
				if err := waitOK(namespace.Spawn(opts)); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	deadline := time.After(4 * time.Minute)
	for range 4 {
		select {
		case err := <-errs:
			if err != nil {
				t.Error(err)
			}
		case <-deadline:
			t.Fatal("spawns still waiting after 4 minutes")
		}
	}
}
