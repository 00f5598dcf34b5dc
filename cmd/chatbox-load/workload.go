package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/protocol"
)

// Workload modes.
const (
	modeIdle   = "idle"   // connect, say hello, hold the socket
	modeChat   = "chat"   // send, read the whole reply, repeat
	modePaced  = "paced"  // chat, with the provider pacing its deltas
	modeResume = "resume" // chat, dropping the socket mid-reply and resuming
)

// loadConfig is what the clients do.
type loadConfig struct {
	mode     string
	conns    int
	turns    int // messages per conversation before a new one is opened
	deltas   int // deltas per reply (resume: where to drop)
	dialConc int // dials in flight at once
	token    func(i int) string
	checkSeq bool // the target numbers events per conversation (chatbox)
}

// conn is one load client.
type conn struct {
	i   int
	url string
	cfg *loadConfig
	c   *counters
	cl  *client.Client
}

func (k *conn) dial(ctx context.Context) (*client.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return client.Dial(dctx, k.url, client.Options{Token: k.cfg.token(k.i), Buffer: 64})
}

// dialAll connects cfg.conns clients, cfg.dialConc at a time. Failed dials
// are counted as errors and left out.
func dialAll(ctx context.Context, url string, cfg *loadConfig, c *counters) []*conn {
	var (
		mu    sync.Mutex
		conns []*conn
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, max(cfg.dialConc, 1))
	for i := range cfg.conns {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			k := &conn{i: i, url: url, cfg: cfg, c: c}
			cl, err := k.dial(ctx)
			if err != nil {
				c.fail("dial:" + classify(err))
				return
			}
			k.cl = cl
			mu.Lock()
			conns = append(conns, k)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return conns
}

// closeAll closes every client, a bounded number at a time.
func closeAll(conns []*conn) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, k := range conns {
		if k.cl == nil {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			k.cl.CloseNow()
		}()
	}
	wg.Wait()
}

// classify names an error for the error table: the protocol code, the close
// code, or the kind of failure.
func classify(err error) string {
	if code := client.Code(err); code != "" {
		return string(code)
	}
	var he *client.HTTPError
	if errors.As(err, &he) {
		return "http_" + strconv.Itoa(he.Status)
	}
	if cc := client.CloseCode(err); cc >= 0 {
		return "close_" + strconv.Itoa(cc)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return "transport"
}

// drive runs k's workload until ctx is done. alive counts the clients
// whose socket still works.
func (k *conn) drive(ctx context.Context, alive *atomic.Int64) {
	defer alive.Add(-1)
	var (
		conv string
		turn int
		seq  int64 // last event number handled in conv
	)
	for ctx.Err() == nil {
		if conv == "" || turn >= k.cfg.turns {
			if conv != "" {
				if err := k.cl.Leave(ctx, conv); err != nil {
					k.failed(ctx, err)
					return
				}
			}
			opened, err := k.cl.OpenNew(ctx, client.OpenOptions{})
			if err != nil {
				if k.failed(ctx, err) {
					return
				}
				continue
			}
			conv, turn, seq = opened.ConversationID, 0, opened.LastSeq
		}
		turn++
		sent := time.Now()
		if _, err := k.cl.Send(ctx, conv, client.NewMessageID(), "hello"); err != nil {
			if k.failed(ctx, err) {
				return
			}
			continue
		}
		if k.c.measuring.Load() {
			k.c.sent.Add(1)
		}
		dropAt := 0
		if k.cfg.mode == modeResume {
			dropAt = 1 + rand.IntN(max(k.cfg.deltas-1, 1))
		}
		var ok bool
		seq, ok = k.readReply(ctx, conv, seq, sent, dropAt)
		if !ok {
			return
		}
		if seq < 0 { // the resume was refused: start over in a new conversation
			conv = ""
		}
	}
}

// failed counts err unless the run is over; it reports whether the socket
// is unusable (the worker stops).
func (k *conn) failed(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return true
	}
	k.c.fail(classify(err))
	return client.Code(err) == ""
}

// readReply reads frames until the reply in conv ends. With dropAt > 0 it
// drops the socket after that many deltas, reconnects and resumes from the
// last event it handled. It returns the last event number handled (-1 when
// the resume was refused and the conversation must be opened again) and
// whether the worker may go on.
func (k *conn) readReply(ctx context.Context, conv string, seq int64, sent time.Time, dropAt int) (int64, bool) {
	seen := 0
	for {
		f, err := k.cl.Next(ctx)
		if err != nil {
			return seq, !k.failed(ctx, err)
		}
		now := time.Now()
		measuring := k.c.measuring.Load()
		if measuring {
			k.c.frames.Add(1)
		}
		if f.ConversationID != conv {
			continue
		}
		if f.Type == protocol.TypeError && f.Error != nil {
			k.c.fail(string(f.Error.Code))
			continue
		}
		if f.Seq > 0 && k.cfg.checkSeq {
			if f.Seq <= seq {
				k.c.fail("seq_duplicate")
				continue
			}
			if f.Seq != seq+1 {
				k.c.fail("seq_gap")
			}
			seq = f.Seq
		}
		switch f.Type {
		case protocol.TypeReplyDelta:
			n := eachStamp(f.Text, func(at time.Time) {
				if measuring {
					k.c.latency.record(now.Sub(at))
				}
			})
			if seen == 0 && measuring && !sent.IsZero() {
				k.c.ttfd.record(now.Sub(sent))
			}
			seen += n
			if measuring {
				k.c.deltas.Add(int64(n))
			}
			if dropAt > 0 && seen >= dropAt {
				resumed, ok := k.dropAndResume(ctx, conv, seq)
				if !resumed {
					return -1, ok
				}
				dropAt = 0
			}
		case protocol.TypeReplyEnd:
			if f.FinishReason != "stop" {
				k.c.fail("finish_" + f.FinishReason)
			}
			if measuring {
				k.c.replies.Add(1)
			}
			return seq, true
		}
	}
}

// dropAndResume drops the socket without a close handshake, as a lost
// network would, dials again and resumes conv after seq. ok reports
// whether the new socket works.
func (k *conn) dropAndResume(ctx context.Context, conv string, seq int64) (resumed, ok bool) {
	start := time.Now()
	k.cl.CloseNow()
	cl, err := k.dial(ctx)
	if err != nil {
		k.failed(ctx, err)
		k.cl = nil
		return false, false
	}
	k.cl = cl
	if _, err := cl.Resume(ctx, conv, seq); err != nil {
		return false, !k.failed(ctx, err)
	}
	if k.c.measuring.Load() {
		k.c.resume.record(time.Since(start))
		k.c.resumes.Add(1)
	}
	return true, true
}
