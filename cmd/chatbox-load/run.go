package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// runConfig bounds one measurement of one target.
type runConfig struct {
	load        loadConfig
	warmup      time.Duration // load before measuring
	duration    time.Duration // measured window
	settle      time.Duration // idle: wait after connecting before reading memory
	cpuProfile  string        // write a CPU profile of the target over the window here
	heapProfile string        // idle: write a heap profile of the target once settled
}

// result is what one run measured. Server figures are nil when the target
// has no stats (remote without -pid).
type result struct {
	Target     string         `json:"target"`
	Mode       string         `json:"mode"`
	Conns      int            `json:"conns"`
	Held       int64          `json:"held"` // sockets working at the end of the window
	Window     time.Duration  `json:"window_ns"`
	Deltas     int64          `json:"deltas"`
	Frames     int64          `json:"frames"`
	Replies    int64          `json:"replies"`
	Sent       int64          `json:"sent"`
	Resumes    int64          `json:"resumes"`
	Latency    quantiles      `json:"latency"`
	TTFD       quantiles      `json:"ttfd"`
	Resume     quantiles      `json:"resume"`
	Errors     map[string]int `json:"errors"`
	Server     *serverFigures `json:"server,omitempty"`
	ServerNote string         `json:"server_note,omitempty"`
}

type quantiles struct {
	P50  time.Duration `json:"p50_ns"`
	P99  time.Duration `json:"p99_ns"`
	P999 time.Duration `json:"p999_ns"`
}

func quantilesOf(h *histogram) quantiles {
	return quantiles{P50: h.quantile(0.50), P99: h.quantile(0.99), P999: h.quantile(0.999)}
}

// serverFigures are the target process's figures over the run.
type serverFigures struct {
	RSSBytes     int64         `json:"rss_bytes"` // at the end
	HeapInuse    int64         `json:"heap_inuse_bytes"`
	Goroutines   int           `json:"goroutines"`
	CPU          time.Duration `json:"cpu_ns"`               // over the window
	MemPerConn   float64       `json:"rss_per_conn_bytes"`   // idle: RSS growth / sockets
	HeapPerConn  float64       `json:"heap_per_conn_bytes"`  // idle: heap growth / sockets
	StackPerConn float64       `json:"stack_per_conn_bytes"` // idle: stack growth / sockets
	// After a forced garbage collection (which shrinks stacks), read after
	// the figures above.
	HeapPerConnGC   float64 `json:"heap_per_conn_after_gc_bytes"`
	StackPerConnGC  float64 `json:"stack_per_conn_after_gc_bytes"`
	GoroutinesPerCn float64 `json:"goroutines_per_conn"` // idle
}

func (r *result) perSecond(n int64) float64 {
	if r.Window <= 0 {
		return 0
	}
	return float64(n) / r.Window.Seconds()
}

// cpuPerDelta is the target's CPU time per delta, or 0 when unknown.
func (r *result) cpuPerDelta() time.Duration {
	if r.Server == nil || r.Deltas == 0 {
		return 0
	}
	return r.Server.CPU / time.Duration(r.Deltas)
}

func (r *result) cpuPerResume() time.Duration {
	if r.Server == nil || r.Resumes == 0 {
		return 0
	}
	return r.Server.CPU / time.Duration(r.Resumes)
}

// measure connects the clients to t, runs the workload and collects the
// figures. Every phase is bounded by the configured durations.
func measure(ctx context.Context, t *target, cfg runConfig) (*result, error) {
	c := newCounters()
	res := &result{Target: t.name, Mode: cfg.load.mode, Conns: cfg.load.conns}
	if t.inproc {
		res.ServerNote = "in-process: CPU and memory include the load client"
	}
	before, haveStats := t.stats(ctx)

	conns := dialAll(ctx, t.url, &cfg.load, c)
	defer closeAll(conns)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if len(conns) == 0 {
		return nil, fmt.Errorf("%s: no connection could be opened: %v", t.name, c.errorCounts())
	}

	if cfg.load.mode == modeIdle {
		if err := sleep(ctx, cfg.settle); err != nil {
			return nil, err
		}
		res.Held = int64(len(conns))
		res.Errors = c.errorCounts()
		if cfg.heapProfile != "" {
			if err := t.fetch(ctx, "/debug/pprof/heap", cfg.heapProfile); err != nil {
				return nil, fmt.Errorf("heap profile: %w", err)
			}
		}
		if after, ok := t.stats(ctx); ok && haveStats {
			n := float64(len(conns))
			res.Server = &serverFigures{
				RSSBytes: after.RSSBytes, HeapInuse: after.HeapInuse, Goroutines: after.Goroutines,
				MemPerConn: float64(after.RSSBytes-before.RSSBytes) / n,
			}
			if after.HeapInuse >= 0 {
				res.Server.HeapPerConn = float64(after.HeapInuse-before.HeapInuse) / n
				res.Server.StackPerConn = float64(after.StackInuse-before.StackInuse) / n
				if gcd, ok := t.statsGC(ctx, true); ok {
					res.Server.HeapPerConnGC = float64(gcd.HeapInuse-before.HeapInuse) / n
					res.Server.StackPerConnGC = float64(gcd.StackInuse-before.StackInuse) / n
				}
				res.Server.GoroutinesPerCn = float64(after.Goroutines-before.Goroutines) / n
			}
		}
		return res, nil
	}

	wctx, stopWorkers := context.WithCancel(ctx)
	var (
		wg    sync.WaitGroup
		alive atomic.Int64
	)
	alive.Store(int64(len(conns)))
	for _, k := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k.drive(wctx, &alive)
		}()
	}
	stopAll := func() { stopWorkers(); wg.Wait() }

	if err := sleep(ctx, cfg.warmup); err != nil {
		stopAll()
		return nil, err
	}
	var profErr error
	var profWG sync.WaitGroup
	if cfg.cpuProfile != "" {
		profWG.Add(1)
		go func() {
			defer profWG.Done()
			profErr = t.profile(ctx, cfg.duration, cfg.cpuProfile)
		}()
	}
	start, startOK := t.stats(ctx)
	c.measuring.Store(true)
	t0 := time.Now()
	err := sleep(ctx, cfg.duration)
	c.measuring.Store(false)
	res.Window = time.Since(t0)
	end, endOK := t.stats(ctx)
	res.Held = alive.Load()
	stopAll()
	profWG.Wait()
	if err != nil {
		return nil, err
	}
	if profErr != nil {
		return nil, fmt.Errorf("cpu profile: %w", profErr)
	}

	res.Deltas, res.Frames, res.Replies = c.deltas.Load(), c.frames.Load(), c.replies.Load()
	res.Sent, res.Resumes = c.sent.Load(), c.resumes.Load()
	res.Latency, res.TTFD, res.Resume = quantilesOf(&c.latency), quantilesOf(&c.ttfd), quantilesOf(&c.resume)
	res.Errors = c.errorCounts()
	if startOK && endOK {
		res.Server = &serverFigures{RSSBytes: end.RSSBytes, HeapInuse: end.HeapInuse, Goroutines: end.Goroutines, CPU: end.CPU - start.CPU}
	}
	return res, nil
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
