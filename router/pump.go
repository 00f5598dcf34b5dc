package router

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// deltaPump publishes a reply's text from a goroutine of its own. Text that
// arrives while a publish is under way, or within the coalescing window,
// goes out as one delta: fewer events to encode, replay and write, the same
// text. The generation owns the pump: stop drains it and waits for it.
type deltaPump struct {
	r      *Router
	g      *generation
	st     *conversation
	window time.Duration

	mu      sync.Mutex
	pending strings.Builder
	closed  bool

	kick     chan struct{} // capacity 1: "there is text"
	stopping chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

func (r *Router) startPump(g *generation, st *conversation) *deltaPump {
	p := &deltaPump{
		r: r, g: g, st: st, window: r.cfg.DeltaCoalesceInterval,
		kick: make(chan struct{}, 1), stopping: make(chan struct{}), done: make(chan struct{}),
	}
	go p.run()
	return p
}

// add queues text for publishing; it never blocks on the broker.
func (p *deltaPump) add(text string) {
	p.mu.Lock()
	p.pending.WriteString(text)
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// stop publishes what is queued and waits for the pump to end. It is safe
// to call more than once.
func (p *deltaPump) stop() {
	p.stopOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.stopping)
		select {
		case p.kick <- struct{}{}:
		default:
		}
	})
	<-p.done
}

func (p *deltaPump) run() {
	defer close(p.done)
	defer func() {
		if v := recover(); v != nil { // a broker panic ends the reply, not the process
			internalError(p.r.log.With("conversation", p.st.id, "reply", p.g.replyID), fmt.Errorf("panic: %v", v), "publish delta")
			p.g.cancel(errPublish)
		}
	}()
	buf := make([]byte, 0, 256)
	var timer *time.Timer
	if p.window > 0 {
		timer = time.NewTimer(p.window)
		timer.Stop()
		defer timer.Stop()
	}
	for {
		<-p.kick
		if timer != nil { // let more text gather, unless the reply is ending
			timer.Reset(p.window)
			select {
			case <-timer.C:
			case <-p.stopping:
				timer.Stop()
			}
		}
		p.mu.Lock()
		text := p.pending.String()
		p.pending.Reset()
		closed := p.closed
		p.mu.Unlock()
		if text != "" {
			p.r.publishDelta(p.g, p.st, text, &buf)
		}
		if closed {
			return
		}
	}
}
