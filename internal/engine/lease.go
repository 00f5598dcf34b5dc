package engine

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/chatboxsdk/chatbox/broker"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// A running reply holds a lease on its conversation (when the broker offers
// leases, as every shared broker does): that lease is the one-reply claim
// across instances, and it is renewed while the reply runs. When an
// instance dies, its leases lapse; the sweeper of whichever instance takes
// a lapsed lease first ends that reply as interrupted, with the text its
// deltas carried, and announces reply.end to every socket.

// replyLeasePrefix names the lease of a conversation's running reply; the
// conversation id follows (ids are validated before they reach here).
const replyLeasePrefix = "reply:"

// Within ReplyLeaseTTL (the TTL below), a dead instance's reply is ended:
// its leases last two thirds of the TTL from their last renewal (renewals
// come every third, so one may be missed), and every instance looks for
// lapsed leases every sixth.
func (e *Engine) leaseLength() time.Duration   { return e.cfg.ReplyLeaseTTL * 2 / 3 }
func (e *Engine) renewInterval() time.Duration { return e.cfg.ReplyLeaseTTL / 3 }
func (e *Engine) lapsedInterval() time.Duration {
	return max(e.cfg.ReplyLeaseTTL/6, 5*time.Millisecond)
}

// errLeaseLost ends a reply whose lease another instance took over.
var errLeaseLost = errors.New("the reply's lease lapsed")

// leases returns the broker's leases, or nil when there is nothing to
// coordinate: the broker offers none, or only this Server uses it.
func (e *Engine) leases() broker.Leases {
	if e.cfg.PrivateBroker {
		return nil
	}
	l, _ := e.cfg.Broker.(broker.Leases)
	return l
}

// leaseHolder names a reply and the sequence number it started after, so
// whoever ends it for a dead instance can find its deltas.
func leaseHolder(replyID string, after int64) string {
	return replyID + "@" + strconv.FormatInt(after, 10)
}

func parseLeaseHolder(h string) (replyID string, after int64, ok bool) {
	id, n, found := strings.Cut(h, "@")
	after, err := strconv.ParseInt(n, 10, 64)
	return id, after, found && err == nil && id != ""
}

// leaseReply takes the conversation's reply lease for g. It reports busy
// when a reply runs on another instance.
func (e *Engine) leaseReply(ctx context.Context, c *conversation, g *generation) *protocol.Error {
	l := e.leases()
	if l == nil {
		return nil
	}
	c.mu.Lock()
	after := c.feedSeq
	c.mu.Unlock()
	g.leaseKey, g.leaseHolder = replyLeasePrefix+c.id, leaseHolder(g.replyID, after)
	ok, err := l.AcquireLease(ctx, g.leaseKey, g.leaseHolder, e.leaseLength())
	switch {
	case err != nil:
		g.leaseKey = ""
		return brokerError(e.log, err, "acquire reply lease")
	case !ok:
		g.leaseKey = ""
		return protocol.Errorf(protocol.CodeBusy, "a reply is being generated: wait for it or stop it")
	}
	return nil
}

// leaseRef names a lease this engine renews.
type leaseRef struct{ key, holder string }

// renewLeases runs until the engine stops: every third of the lease TTL it
// renews every lease this engine holds (one goroutine for all of them, not
// one per reply). A lease found lost calls its lost function (a reply
// ends).
func (e *Engine) renewLeases(l broker.Leases) {
	t := time.NewTicker(e.renewInterval())
	defer t.Stop()
	type held struct {
		leaseRef
		lost func()
	}
	var all []held
	for {
		select {
		case <-e.base.Done():
			return
		case <-t.C:
		}
		e.mu.Lock()
		all = all[:0]
		for ref, lost := range e.leased {
			all = append(all, held{ref, lost})
		}
		e.mu.Unlock()
		for _, h := range all {
			ctx, cancel := context.WithTimeout(e.base, e.cfg.StoreTimeout)
			ok, err := l.RenewLease(ctx, h.key, h.holder, e.leaseLength())
			cancel()
			if err == nil && !ok && h.lost != nil {
				h.lost()
			}
		}
		clear(all)
	}
}

// trackLease adds a lease to the ones renewLeases renews; the returned
// function removes it, and may be called more than once.
func (e *Engine) trackLease(ref leaseRef, lost func()) (untrack func()) {
	e.mu.Lock()
	e.leased[ref] = lost
	e.mu.Unlock()
	return func() {
		e.mu.Lock()
		delete(e.leased, ref)
		e.mu.Unlock()
	}
}

// trackReplyLease renews g's lease while it runs; a lost lease ends it.
func (e *Engine) trackReplyLease(g *generation) (untrack func()) {
	if g.leaseKey == "" {
		return func() {}
	}
	return e.trackLease(leaseRef{g.leaseKey, g.leaseHolder}, func() { g.cancel(errLeaseLost) })
}

// releaseLease gives g's lease back once the reply has ended.
func (e *Engine) releaseLease(g *generation) {
	l := e.leases()
	if l == nil || g.leaseKey == "" {
		return
	}
	ctx, cancel := e.persistCtx(e.base)
	defer cancel()
	if err := l.ReleaseLease(ctx, g.leaseKey, g.leaseHolder); err != nil {
		e.log.Warn("release reply lease", "key", g.leaseKey, "err", err)
	}
}

// sweepLapsedReplies runs until the engine stops: it ends the replies of
// instances that died.
func (e *Engine) sweepLapsedReplies(l broker.Leases) {
	interval := e.lapsedInterval()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-e.base.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(e.base, e.cfg.StoreTimeout)
		lapsed, err := l.TakeLapsedLeases(ctx, 32)
		cancel()
		if err != nil {
			e.log.Warn("take lapsed reply leases", "err", err)
			continue
		}
		for _, ls := range lapsed {
			e.endLapsedReply(ls)
		}
	}
}

// endLapsedReply stores a dead instance's reply as interrupted, with the
// text of its deltas still in the replay window, and publishes reply.end.
func (e *Engine) endLapsedReply(ls broker.Lease) {
	convID, isReply := strings.CutPrefix(ls.Key, replyLeasePrefix)
	replyID, after, ok := parseLeaseHolder(ls.Holder)
	if !isReply || !ok {
		return
	}
	e.mu.Lock()
	_, runsHere := e.leased[leaseRef{ls.Key, ls.Holder}]
	e.mu.Unlock()
	if runsHere {
		// Its renewal failed for a while (the broker was unreachable): the
		// reply is alive here, and its next renewal, finding the lease
		// gone, ends it as interrupted itself.
		return
	}
	ctx, cancel := context.WithTimeout(e.base, 2*e.cfg.StoreTimeout)
	defer cancel()
	log := e.log.With("conversation", convID, "reply", replyID)
	m, err := e.cfg.Store.GetMessage(ctx, convID, replyID)
	if err != nil || m.Status != storage.MessageStreaming {
		return // never stored, or finished by its instance
	}
	c := newConversation(e, convID)
	text, err := c.replayedText(ctx, replyID, after)
	if err != nil {
		log.Warn("the text of a lapsed reply is no longer held; storing what the store has", "err", err)
		text = m.Text
	}
	if len(m.Parts) > 0 {
		// The parts hold the text up to the last step stored; the window
		// holds this run's deltas, which may repeat its end.
		added := newSuffix(m.Text, text)
		text = m.Text + added
		if added != "" {
			m.Parts = append(m.Parts, storage.Part{Kind: storage.PartText, Text: added})
		}
		m.Parts = closeCallsOf(m.Parts)
	}
	m.Text, m.Status, m.FinishReason = text, storage.MessageComplete, string(llm.FinishInterrupted)
	m.UpdatedAt = e.cfg.Now().UTC()
	if err := e.cfg.Store.UpdateMessage(ctx, m); err != nil {
		log.Error("store a lapsed reply as interrupted", "err", err)
		return
	}
	log.Info("ended the reply of an instance that stopped renewing its lease")
	if _, err := c.publish(ctx, &protocol.ServerFrame{Type: protocol.TypeReplyEnd, ConversationID: convID,
		ReplyID: replyID, FinishReason: string(llm.FinishInterrupted), Model: m.Model}); err != nil {
		log.Warn("publish the end of a lapsed reply", "err", err)
	}
}

// replayedText joins the text of replyID's deltas numbered after after.
func (c *conversation) replayedText(ctx context.Context, replyID string, after int64) (string, error) {
	last, err := c.e.cfg.Broker.LastSeq(ctx, c.id)
	if err != nil {
		return "", err
	}
	events, err := c.replay(ctx, after, last)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, data := range events {
		var d struct {
			Type    string `json:"type"`
			ReplyID string `json:"reply_id"`
			Text    string `json:"text"`
		}
		if json.Unmarshal(data, &d) == nil && d.Type == protocol.TypeReplyDelta && d.ReplyID == replyID {
			b.WriteString(d.Text)
		}
	}
	return b.String(), nil
}

// newSuffix returns what replayed adds to stored: replayed without its
// longest beginning that stored ends with.
func newSuffix(stored, replayed string) string {
	for k := min(len(stored), len(replayed)); k > 0; k-- {
		if strings.HasSuffix(stored, replayed[:k]) {
			return replayed[k:]
		}
	}
	return replayed
}

// closeCallsOf gives every call without a result one saying it did not
// run, for a reply whose instance died.
func closeCallsOf(parts []storage.Part) []storage.Part {
	n := len(parts)
	for i := 0; i < n; i++ {
		p := parts[i]
		if p.Kind != storage.PartToolCall || hasResult(parts, p.CallID) {
			continue
		}
		if p.Approval == storage.ApprovalPending {
			parts[i].Approval = storage.ApprovalDenied
		}
		parts = append(parts, storage.Part{Kind: storage.PartToolResult, CallID: p.CallID, Name: p.Name,
			Text: "the call did not run: the reply was interrupted", IsError: true, ErrorCode: "not_run"})
	}
	return parts
}
