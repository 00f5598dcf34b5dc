package redis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/chatboxsdk/chatbox/broker"
)

// maxPublishAttempts bounds how often Publish encodes again because other
// instances kept taking the next number.
const maxPublishAttempts = 64

// ErrContended: Publish gave up after other instances took the next number
// maxPublishAttempts times in a row.
var ErrContended = errors.New("broker/redis: publish contended")

// pubState is this instance's publishing state of one conversation. turn is
// a one-slot semaphore that serialises its publishes, in order; last and
// known are guarded by it; users by Broker.mu.
type pubState struct {
	turn  chan struct{}
	users int
	last  int64
	known bool
}

// Publish implements broker.Broker. It returns ctx's error if ctx ends
// while it waits for its turn or for Redis, broker.ErrClosed once the broker
// is closed, encode's error wrapped (no number is consumed then), Redis's
// error wrapped, or ErrContended. A nil encode is an error. A Publish that
// failed on a Redis error may nevertheless have been committed.
func (b *Broker) Publish(ctx context.Context, conversationID string, encode broker.EncodeFunc) (int64, error) {
	if encode == nil {
		return 0, errors.New("broker/redis: Publish: nil encode function")
	}
	if err := b.checkOpen(ctx); err != nil {
		return 0, err
	}
	ps, err := b.takeTurn(ctx, conversationID)
	if err != nil {
		return 0, err
	}
	defer b.endTurn(conversationID, ps)
	meta, list, channel := b.keys(conversationID)
	keys := []string{meta, list}
	for attempt := range maxPublishAttempts {
		if attempt > 1 {
			// Lost twice in a row: another instance publishes in a burst.
			// A short random pause lets this one in rather than racing it
			// into the ground.
			if err := contentionPause(ctx, attempt); err != nil {
				return 0, err
			}
		}
		if !ps.known {
			if ps.last, err = b.lastSeq(ctx, conversationID); err != nil {
				return 0, err
			}
			ps.known = true
		}
		seq := ps.last + 1
		data, err := encode(seq)
		if err != nil {
			return 0, fmt.Errorf("broker/redis: encode event %d of conversation %q: %w", seq, conversationID, err)
		}
		res, err := publishScript.Exec(ctx, b.client, keys, []string{
			strconv.FormatInt(seq, 10), string(data),
			strconv.Itoa(b.cfg.MaxReplayEvents), strconv.Itoa(b.cfg.MaxReplayBytes),
			strconv.FormatInt(b.cfg.ReplayTTL.Milliseconds(), 10),
			strconv.FormatInt(b.cfg.NumberingTTL.Milliseconds(), 10),
			channel,
		}).AsIntSlice()
		if err != nil || len(res) != 2 {
			ps.known = false
			return 0, fmt.Errorf("broker/redis: publish event %d of conversation %q: %w", seq, conversationID, errOr(err))
		}
		if res[0] == 1 {
			ps.last = seq
			return seq, nil
		}
		ps.last = res[1] // another instance published, or a new epoch began
	}
	ps.known = false
	return 0, fmt.Errorf("%w: conversation %q after %d attempts", ErrContended, conversationID, maxPublishAttempts)
}

func errOr(err error) error {
	if err != nil {
		return err
	}
	return errors.New("unexpected reply")
}

// takeTurn waits for this instance's turn to publish to the conversation.
func (b *Broker) takeTurn(ctx context.Context, conversationID string) (*pubState, error) {
	b.mu.Lock()
	ps := b.pubs[conversationID]
	if ps == nil {
		b.evictPubLocked()
		ps = &pubState{turn: make(chan struct{}, 1)}
		b.pubs[conversationID] = ps
	}
	ps.users++
	b.mu.Unlock()
	select {
	case ps.turn <- struct{}{}:
		return ps, nil
	case <-ctx.Done():
		b.endWait(conversationID, ps)
		return nil, ctx.Err()
	}
}

func (b *Broker) endTurn(conversationID string, ps *pubState) {
	<-ps.turn
	b.endWait(conversationID, ps)
}

func (b *Broker) endWait(_ string, ps *pubState) {
	b.mu.Lock()
	ps.users--
	b.mu.Unlock()
}

// evictPubLocked makes room for one cached conversation, forgetting one
// nobody is publishing to. Map iteration order is random, so this is a
// random eviction at O(1) expected cost. b.mu is held.
func (b *Broker) evictPubLocked() {
	if len(b.pubs) < b.cfg.MaxCachedConversations {
		return
	}
	for id, ps := range b.pubs {
		if ps.users == 0 {
			delete(b.pubs, id)
			return
		}
	}
}

// LastSeq implements broker.Broker. For a conversation Redis does not hold
// it starts a new epoch, so that the next Publish assigns LastSeq+1.
func (b *Broker) LastSeq(ctx context.Context, conversationID string) (int64, error) {
	if err := b.checkOpen(ctx); err != nil {
		return 0, err
	}
	return b.lastSeq(ctx, conversationID)
}

func (b *Broker) lastSeq(ctx context.Context, conversationID string) (int64, error) {
	meta, list, _ := b.keys(conversationID)
	res, err := lastSeqScript.Exec(ctx, b.client, []string{meta, list},
		[]string{strconv.FormatInt(b.cfg.NumberingTTL.Milliseconds(), 10)}).AsIntSlice()
	if err != nil || len(res) != 2 {
		return 0, fmt.Errorf("broker/redis: last number of conversation %q: %w", conversationID, errOr(err))
	}
	return res[1], nil
}

// Signal implements broker.Broker: one PUBLISH without a number.
func (b *Broker) Signal(ctx context.Context, conversationID string, data []byte) error {
	if err := b.checkOpen(ctx); err != nil {
		return err
	}
	_, _, channel := b.keys(conversationID)
	cmd := b.client.B().Publish().Channel(channel).Message("0:" + string(data)).Build()
	if err := b.client.Do(ctx, cmd).Error(); err != nil {
		return fmt.Errorf("broker/redis: signal conversation %q: %w", conversationID, err)
	}
	return nil
}

// contentionPause waits a random time that grows with the attempts lost,
// up to 2 ms, or until ctx ends.
func contentionPause(ctx context.Context, attempt int) error {
	d := time.Duration(rand.Int64N(int64(min(attempt, 40)) * int64(50*time.Microsecond)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
