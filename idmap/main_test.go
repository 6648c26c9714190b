package idmap_test

import (
	"testing"

	"github.com/nsgo/nsgo/idmap"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func rng(inside, outside, count uint32) idmap.Range {
	return idmap.Range{Inside: inside, Outside: outside, Count: count}
}
