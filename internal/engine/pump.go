package engine

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chatboxsdk/chatbox/protocol"
)

// deltaPump publishes a reply's text from a goroutine of its own. Text that
// arrives while a publish is under way, or within the coalescing window,
// goes out as one delta: fewer events to encode, replay and write, the same
// text. The generation owns the pump: stop drains it and waits for it.
type deltaPump struct {
	e      *Engine
	g      *generation
	c      *conversation
	window time.Duration

	mu      sync.Mutex
	pending strings.Builder
	closed  bool

	kick     chan struct{} // capacity 1: "there is text"
	stopping chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

func (e *Engine) startPump(g *generation, c *conversation) *deltaPump {
	p := &deltaPump{
		e: e, g: g, c: c, window: e.cfg.CoalesceInterval,
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
			internalError(p.e.replyLog(p.g), fmt.Errorf("panic: %v", v), "publish delta")
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
			p.publish(text, &buf)
		}
		if closed {
			return
		}
	}
}

// publish is the hot path: one encoding shared by every subscriber. The
// text is added to the snapshot after the event is published, so a
// snapshot never holds text newer than its sequence number.
//
// A delta that cannot be published ends the reply with an error rather than
// leaving a hole that live clients would never learn of; the text is kept,
// so the stored reply holds everything that was streamed.
func (p *deltaPump) publish(text string, buf *[]byte) {
	g, c := p.g, p.c
	seq, err := p.e.cfg.Broker.Publish(g.pubCtx, c.id, func(seq int64) ([]byte, error) {
		b := protocol.AppendDelta((*buf)[:0], c.id, seq, g.replyID, text)
		return slices.Clone(b), nil
	})
	c.mu.Lock()
	g.text.WriteString(text)
	if err == nil {
		g.lastSeq = seq
	}
	c.mu.Unlock()
	c.afterPublish(err)
	if err != nil {
		p.e.log.Error("publish delta", "conversation", c.id, "err", err)
		g.cancel(errPublish)
	}
}
