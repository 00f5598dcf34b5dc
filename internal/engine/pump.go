package engine

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/chatboxsdk/chatbox/protocol"
)

// deltaPump publishes a reply's events from a goroutine of its own, in the
// order the reply produced them. Text that arrives while a publish is under
// way, or within the coalescing window, goes out as one delta (reasoning
// likewise): fewer events to encode, replay and write, the same text. The
// generation owns the pump: stop drains it and waits for it.
type deltaPump struct {
	e      *Engine
	g      *generation
	c      *conversation
	window time.Duration

	mu sync.Mutex
	// pending is the text since the last other event; queued holds what
	// came before it, in order, when the reply produced more than text.
	// pending swaps with a buffer run keeps at each publish, so gathering
	// text allocates only while a reply's largest batch grows.
	pending []byte
	bufs    *pumpBuffers // where pending, run's buffer and the encoding came from
	queued  []pumpItem
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
	p.bufs, _ = e.pumpBufs.Get().(*pumpBuffers)
	if p.bufs == nil {
		p.bufs = &pumpBuffers{}
	}
	p.pending = p.bufs.text[0][:0]
	go p.run()
	return p
}

// pumpBuffers are a pump's scratch space: two for gathering text, one for
// encoding. Nothing outside the pump keeps them (the broker gets a copy of
// each encoding), so a pump that ends gives them to the Engine's pool for
// the next reply, unless a burst made one larger than keptPumpBuf.
type pumpBuffers struct {
	text [2][]byte
	enc  []byte
}

const keptPumpBuf = 16 << 10

// release gives the pump's buffers back (spare and enc are run's); a later
// add (none is expected) would start a buffer of its own.
func (p *deltaPump) release(spare, enc []byte) {
	p.mu.Lock()
	b := p.bufs
	b.text[0], b.text[1], b.enc = p.pending[:0], spare[:0], enc[:0]
	p.pending, p.bufs = nil, nil
	p.mu.Unlock()
	if cap(b.text[0]) <= keptPumpBuf && cap(b.text[1]) <= keptPumpBuf && cap(b.enc) <= keptPumpBuf {
		p.e.pumpBufs.Put(b)
	}
}

// pumpItem is an event queued behind text: reasoning (coalesced like
// text) or a frame published as it is.
type pumpItem struct {
	text      string // text or reasoning
	reasoning bool
	frame     *protocol.ServerFrame
}

// add queues text for publishing; it never blocks on the broker.
func (p *deltaPump) add(text string) {
	p.mu.Lock()
	p.pending = append(p.pending, text...)
	p.mu.Unlock()
	p.wake()
}

// addReasoning queues a piece of reasoning, after what is queued.
func (p *deltaPump) addReasoning(text string) {
	p.mu.Lock()
	p.flushTextLocked()
	if n := len(p.queued); n > 0 && p.queued[n-1].reasoning {
		p.queued[n-1].text += text
	} else {
		p.queued = append(p.queued, pumpItem{text: text, reasoning: true})
	}
	p.mu.Unlock()
	p.wake()
}

// addFrame queues an event of the reply (a tool call's progress), after
// what is queued. Its sequence number is set when it is published.
func (p *deltaPump) addFrame(f *protocol.ServerFrame) {
	p.mu.Lock()
	p.flushTextLocked()
	p.queued = append(p.queued, pumpItem{frame: f})
	p.mu.Unlock()
	p.wake()
}

// flushTextLocked moves pending text into the queue, so what follows it is
// published after it. Call with p.mu held.
func (p *deltaPump) flushTextLocked() {
	if len(p.pending) > 0 {
		p.queued = append(p.queued, pumpItem{text: string(p.pending)})
		p.pending = p.pending[:0]
	}
}

func (p *deltaPump) wake() {
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
	// run's own: the encoding buffer, and the text buffer add is not using.
	buf, spare := p.bufs.enc[:0], p.bufs.text[1][:0]
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
		queued := p.queued
		p.queued = nil
		text := p.pending
		p.pending = spare
		closed := p.closed
		p.mu.Unlock()
		for _, it := range queued {
			switch {
			case it.frame != nil:
				p.publishFrame(it.frame)
			case it.reasoning:
				p.publishFrame(&protocol.ServerFrame{Type: protocol.TypeReplyReasoning, ConversationID: p.c.id, ReplyID: p.g.replyID, Text: it.text})
			default:
				buf = p.publish([]byte(it.text), buf)
			}
		}
		if len(text) > 0 {
			buf = p.publish(text, buf)
		}
		spare = text[:0]
		if closed {
			p.release(spare, buf)
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
//
// buf is scratch space for the encoding, returned for the next call.
func (p *deltaPump) publish(text, buf []byte) []byte {
	g, c := p.g, p.c
	seq, err := p.e.cfg.Broker.Publish(g.pubCtx, c.id, func(seq int64) ([]byte, error) {
		buf = protocol.AppendDelta(buf[:0], c.id, seq, g.replyID, text)
		return slices.Clone(buf), nil
	})
	c.mu.Lock()
	g.text.Write(text)
	if g.shown != nil {
		g.shown.addText(protocol.PartText, string(text))
	}
	if err == nil {
		g.lastSeq = seq
	}
	c.mu.Unlock()
	c.afterPublish(err)
	if err != nil {
		p.e.log.Error("publish delta", "conversation", c.id, "err", err)
		g.cancel(errPublish)
	}
	return buf
}

// publishFrame publishes a reply event other than text and records it in
// the parts an open shows.
func (p *deltaPump) publishFrame(f *protocol.ServerFrame) {
	g, c := p.g, p.c
	if f.Type == protocol.TypeApprovalRequest {
		c.mu.Lock()
		g.pausing = true // stored as waiting before its requests were queued
		c.mu.Unlock()
	}
	seq, err := c.publish(g.pubCtx, f)
	c.mu.Lock()
	if g.shown == nil {
		g.shown = newShownParts(g.text.String())
	}
	g.shown.apply(f)
	if err == nil {
		g.lastSeq = seq
	}
	c.mu.Unlock()
	if err != nil {
		p.e.log.Error("publish reply event", "conversation", c.id, "type", f.Type, "err", err)
		g.cancel(errPublish)
	}
}
