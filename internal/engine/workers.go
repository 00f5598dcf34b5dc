package engine

import (
	"sync"
	"time"
)

// workers runs reply jobs on goroutines that stay for workerLinger after a
// job, ready for the next one. A reply goes deep (the model call, the store,
// the tools) and a new goroutine grew its stack two or three times per
// reply, copying it each time; a worker that stays keeps what it grew while
// replies keep coming, and idle ones leave. The Engine owns them: stop ends
// the idle ones and waits for all.
type workers struct {
	jobs     chan func() // unbuffered: a send succeeds only when a worker waits
	quit     chan struct{}
	quitOnce sync.Once
	wg       sync.WaitGroup
}

func newWorkers() *workers {
	return &workers{jobs: make(chan func()), quit: make(chan struct{})}
}

// run hands job to a waiting worker, or starts one. It must not be called
// once stop was.
func (w *workers) run(job func()) {
	select {
	case w.jobs <- job:
		return
	default:
	}
	w.wg.Add(1)
	go w.loop(job)
}

func (w *workers) loop(job func()) {
	defer w.wg.Done()
	linger := time.NewTimer(workerLinger)
	defer linger.Stop()
	for {
		job()
		job = nil // let what the job held go while waiting
		linger.Reset(workerLinger)
		select {
		case job = <-w.jobs:
		case <-linger.C:
			return
		case <-w.quit:
			return
		}
	}
}

// stop ends the waiting workers and waits for those still running a job.
// It may be called more than once.
func (w *workers) stop() {
	w.quitOnce.Do(func() { close(w.quit) })
	w.wg.Wait()
}
