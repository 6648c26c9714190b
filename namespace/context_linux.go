package namespace

import (
	"context"
	"fmt"
)

// SpawnContext is Spawn with a context, as exec.CommandContext is
// exec.Command with one: if ctx is done before the program exits, the
// program is killed with SIGKILL (its own process only, not processes it
// started), and Wait's state says "signal: killed"; ctx.Err() tells why.
// If ctx is done before the start, SpawnContext starts nothing and returns
// an error that wraps ctx.Err(). A ctx done while the child is being set up
// kills the program as soon as it runs.
//
// Watching ctx takes no goroutine while the program runs: Wait stops it,
// and Wait must be called as after Spawn. A nil ctx panics.
func SpawnContext(ctx context.Context, opts Options) (*Process, error) {
	return spawnContext(ctx, nil, opts)
}

// SpawnContext is Handle.Spawn with a context, as the package-level
// SpawnContext is Spawn with one.
func (h *Handle) SpawnContext(ctx context.Context, opts Options) (*Process, error) {
	return spawnContext(ctx, h, opts)
}

func spawnContext(ctx context.Context, h *Handle, opts Options) (*Process, error) {
	if ctx == nil {
		panic("namespace: SpawnContext with a nil Context")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("spawn %s: %w", opts.Path, err)
	}
	var p *Process
	var err error
	if h == nil {
		p, err = Spawn(opts)
	} else {
		p, err = h.Spawn(opts)
	}
	if err != nil {
		return nil, err
	}
	// The program is the caller's until Wait, which stops the watch; a kill
	// under way then ends before Wait returns, so that nothing of it
	// outlives Wait. After Wait, Kill kills nothing (ErrProcessDone).
	killed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(killed)
		p.Kill()
	})
	p.afterWait = func() bool {
		if !stop() {
			<-killed
		}
		return true
	}
	return p, nil
}
