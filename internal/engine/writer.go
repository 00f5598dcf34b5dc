package engine

import (
	"context"
	"time"

	"github.com/coder/websocket"

	"github.com/chatboxsdk/chatbox/protocol"
)

// writeLoop is the writer: it runs while the outbox has work and exits
// when it is idle (see outbox). Only the writer writes to conn.
func (s *socket) writeLoop() {
	for {
		w := s.out.take()
		if w.idle {
			return
		}
		// An overflow dropped what was queued (the client resumes from what
		// it saw); a requested resume still sends what was queued first.
		frames := w.frames
		if w.overflowed && w.code != 0 {
			s.e.cfg.Metrics.SlowConsumerClosed()
		}
		if len(frames) > 0 && !s.write(frames) {
			s.out.finish()
			s.abort()
			return
		}
		if w.ping && !s.ping() {
			s.out.finish()
			s.abort()
			return
		}
		if w.code != 0 {
			s.closeCode.CompareAndSwap(0, int32(w.code))
			_ = s.conn.Close(websocket.StatusCode(w.code), w.reason)
			s.out.finish()
			s.abort()
			return
		}
	}
}

// ping checks that the peer is alive and schedules the next ping. The pong
// is read by the read loop, which never waits on anything but the peer.
// Like a write, the ping and its pong are bounded by the watchdog (a pong
// later than WriteTimeout drops the connection), not by a context: a
// context derived from the socket's would stay with an idle socket.
func (s *socket) ping() bool {
	s.writeDog.Reset(s.e.cfg.WriteTimeout)
	err := s.conn.Ping(context.Background())
	s.writeDog.Stop()
	if err != nil {
		return false
	}
	s.pingTimer.Reset(s.e.cfg.PingInterval)
	return true
}

// write sends every queued frame as one WebSocket message, one frame per
// line, in a single write: the library turns each Write call into a frame of
// its own, so joining first is what makes batching cheap.
func (s *socket) write(frames [][]byte) bool {
	msg := frames[0]
	if len(frames) > 1 {
		buf := s.writeBuf[:0]
		for i, f := range frames {
			if i > 0 {
				buf = append(buf, '\n')
			}
			buf = append(buf, f...)
		}
		msg = buf
		if cap(buf) <= maxKeptWriteBuf {
			s.writeBuf = buf[:0]
		} else {
			s.writeBuf = nil // do not keep a burst's buffer on an idle socket
		}
	}
	// A watchdog timer bounds the write: cheaper per write than a context
	// with a deadline, which the library would watch with a goroutine hook
	// each time. When it fires, the connection is dropped and Write fails.
	s.writeDog.Reset(s.e.cfg.WriteTimeout)
	err := s.conn.Write(context.Background(), websocket.MessageText, msg)
	s.writeDog.Stop()
	return err == nil
}

// maxKeptWriteBuf bounds the join buffer a socket keeps between writes.
const maxKeptWriteBuf = 64 << 10

// expire closes the socket with 4001 if its credential has expired (it may
// have been renewed by a re-authentication since the timer was set).
func (s *socket) expire() {
	at := s.expiresAt.Load()
	if at == 0 || time.Now().UnixNano() < at {
		return
	}
	s.send(&protocol.ServerFrame{Type: protocol.TypeError, Error: protocol.Errorf(protocol.CodeUnauthorized, "the token has expired: reconnect with a new token").Body()})
	s.out.close(protocol.CloseUnauthorized, "token expired")
}

// setExpiry records when the socket's credential expires and arms the
// timer that enforces it.
func (s *socket) setExpiry(at time.Time) {
	var n int64
	if !at.IsZero() {
		n = at.UnixNano()
	}
	s.expiresAt.Store(n)
	if s.expiryTimer != nil {
		s.expiryTimer.Stop()
	}
	if n == 0 {
		return
	}
	if s.expiryTimer == nil {
		s.expiryTimer = time.AfterFunc(time.Until(at), s.expire)
		return
	}
	s.expiryTimer.Reset(time.Until(at))
}
