package router

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/protocol"
)

// socket is one WebSocket connection. Its read loop runs in the goroutine
// that called Router.Serve; its writer runs, only while there is something
// to write, in a goroutine the outbox starts and run awaits. Only the writer
// writes to conn.
type socket struct {
	r    *Router
	conn *websocket.Conn
	out  *outbox
	log  *slog.Logger

	ctx    context.Context // derived from the router's base context
	cancel context.CancelFunc

	identity auth.Identity // set once after hello; read only by the read loop afterwards
	// opLog is the logger of the frame being handled (read loop only): its
	// lines carry the socket, user, frame type, request and conversation.
	opLog *slog.Logger

	// attached is touched only by the read loop.
	attached map[string]*attachment

	abortOnce sync.Once
	writeBuf  []byte           // writer only: joins a batch into one message
	writeDog  *time.Timer      // drops the connection when a write stalls
	limited   io.LimitedReader // read loop only: reused for every frame

	// expiresAt is the credential's expiry in Unix nanoseconds (0: never);
	// written by the read loop, read by the expiry timer.
	expiresAt   atomic.Int64
	expiryTimer *time.Timer // read loop only (created on first use)
	pingTimer   *time.Timer
	userCounted bool // read loop only
	// closeCode is the close code the writer sent (0: none); for metrics.
	closeCode atomic.Int32
}

func newSocket(r *Router, conn *websocket.Conn) *socket {
	ctx, cancel := context.WithCancel(r.base)
	s := &socket{
		r:        r,
		conn:     conn,
		log:      r.log.With("socket", newRef()),
		ctx:      ctx,
		cancel:   cancel,
		attached: make(map[string]*attachment),
	}
	s.out = newOutbox(r.cfg.MaxQueueBytes, extraQueueBytes(r.cfg.MaxQueueBytes), s.writeLoop)
	s.writeDog = time.AfterFunc(time.Hour, s.abort)
	s.writeDog.Stop()
	return s
}

// abort closes the connection at once, without the close handshake.
func (s *socket) abort() {
	s.abortOnce.Do(func() { _ = s.conn.CloseNow() })
}

func (s *socket) run(preauth *auth.Identity) {
	// The hard limit lets frames a little over MaxFrameBytes be answered
	// with too_large while the socket survives; beyond it the library closes
	// the socket with 1009.
	s.conn.SetReadLimit(int64(2*s.r.cfg.MaxFrameBytes + 1024))

	s.pingTimer = time.AfterFunc(s.r.cfg.PingInterval, s.out.requestPing)

	if s.handshake(preauth) {
		s.readLoop()
	}

	// The read side is done: the peer left, or a close was requested. Stop
	// deliveries, let the writer flush what is queued and close (bounded by
	// WriteTimeout and the close handshake), then release everything.
	for _, a := range s.attached {
		a.detach()
	}
	clear(s.attached)
	s.out.close(protocol.CloseNormal, "")
	s.out.wait()
	s.pingTimer.Stop()
	s.writeDog.Stop()
	if s.expiryTimer != nil {
		s.expiryTimer.Stop()
	}
	s.cancel()
	s.abort()
	if s.userCounted {
		s.r.releaseUser(s.identity.UserID)
	}
	code := int(s.closeCode.Load())
	if code == 0 {
		code = int(websocket.StatusAbnormalClosure) // dropped without a close frame
	}
	s.r.cfg.Metrics.SocketClosed(code)
}

// handshake waits for the hello frame (authenticating with its token when
// no identity was proven at upgrade) and answers ready.
func (s *socket) handshake(preauth *auth.Identity) bool {
	timedOut := make(chan struct{})
	timer := time.AfterFunc(s.r.cfg.HelloTimeout, func() {
		defer close(timedOut)
		s.out.close(protocol.CloseProtocolError, "no hello frame in time")
	})
	defer func() {
		if !timer.Stop() {
			<-timedOut
		}
	}()

	var buf bytes.Buffer
	data, ok := s.readFrame(&buf)
	if !ok {
		return false
	}
	f, perr := protocol.Decode(data, s.r.decodeLimits())
	if perr == nil && f.Type != protocol.TypeHello {
		perr = protocol.Errorf(protocol.CodeHelloRequired, "the first frame must be hello")
	}
	if perr != nil {
		s.sendError(f.ID, "", perr)
		s.out.close(protocol.CloseProtocolError, "hello required")
		return false
	}
	switch {
	case preauth != nil:
		s.identity = *preauth
	case f.Token == "":
		s.sendError(f.ID, "", protocol.Errorf(protocol.CodeUnauthorized, "a token is required"))
		s.out.close(protocol.CloseUnauthorized, "unauthorized")
		return false
	default:
		id, perr := s.authenticate(f.Token)
		if perr != nil {
			s.sendError(f.ID, "", perr)
			s.out.close(protocol.CloseUnauthorized, "unauthorized")
			return false
		}
		s.identity = id
	}
	if !s.identity.ExpiresAt.IsZero() && !s.identity.ExpiresAt.After(s.r.cfg.Now()) {
		s.sendError(f.ID, "", protocol.Errorf(protocol.CodeUnauthorized, "the token has expired"))
		s.out.close(protocol.CloseUnauthorized, "token expired")
		return false
	}
	if !s.r.acquireUser(s.identity.UserID) {
		s.sendError(f.ID, "", protocol.Errorf(protocol.CodeLimitReached, "too many connections for this user"))
		s.out.close(protocol.CloseTooManyConnections, "too many connections")
		return false
	}
	s.userCounted = true
	s.setExpiry(s.identity.ExpiresAt)
	s.log = s.log.With("user", s.identity.UserID)
	s.send(&protocol.ServerFrame{
		Type:     protocol.TypeReady,
		ID:       f.ID,
		Protocol: protocol.Version,
		User:     &protocol.User{ID: s.identity.UserID, Name: s.identity.Name, Roles: s.identity.Roles},
		Models:   s.r.models.order, DefaultModel: s.r.cfg.DefaultModel,
		Limits: &protocol.Limits{MaxFrameBytes: s.r.cfg.MaxFrameBytes, MaxTextBytes: s.r.cfg.MaxTextBytes},
	})
	return true
}

func (s *socket) readLoop() {
	var buf bytes.Buffer
	for {
		data, ok := s.readFrame(&buf)
		if !ok {
			return
		}
		if data != nil { // nil: answered already (too large, binary)
			s.handle(data)
		}
		if buf.Cap() > keptReadBuf {
			buf = bytes.Buffer{} // one large frame must not cost an idle socket forever
		}
	}
}

// handle decodes and dispatches one frame. It is kept out of readLoop so
// that the frames parked on an idle socket's stack stay small and the
// runtime can shrink that stack: most sockets are idle most of the time.
//
//go:noinline
func (s *socket) handle(data []byte) {
	f, perr := protocol.Decode(data, s.r.decodeLimits())
	if perr != nil {
		s.sendError(f.ID, f.ConversationID, perr)
		return
	}
	s.dispatch(&f)
}

// readFrame reads one message into buf. It returns ok == false when the
// socket is done, and data == nil for a message already answered with an
// error (binary, too large).
func (s *socket) readFrame(buf *bytes.Buffer) (data []byte, ok bool) {
	typ, rd, err := s.conn.Reader(s.ctx)
	if err != nil {
		return nil, false
	}
	buf.Reset()
	max := int64(s.r.cfg.MaxFrameBytes)
	s.limited = io.LimitedReader{R: rd, N: max + 1}
	n, err := buf.ReadFrom(&s.limited)
	s.limited.R = nil
	if err != nil {
		return nil, false
	}
	if n > max {
		if _, err := io.Copy(io.Discard, rd); err != nil {
			return nil, false // over the hard limit: the library closed with 1009
		}
		s.sendError("", "", &protocol.Error{Code: protocol.CodeTooLarge, Message: "frame is too large", Field: "frame"})
		return nil, true
	}
	if typ != websocket.MessageText {
		s.sendError("", "", protocol.Errorf(protocol.CodeBadFrame, "binary frames are not supported"))
		return nil, true
	}
	return buf.Bytes(), true
}

// writeLoop is the writer: it runs while the outbox has work and exits
// when it is idle (see outbox). Only the writer writes to conn.
func (s *socket) writeLoop() {
	for {
		w := s.out.take()
		if w.idle {
			return
		}
		frames := w.frames
		if w.code == closeSlowConsumer {
			frames = nil // the client resumes from what it saw
			s.r.cfg.Metrics.SlowConsumerClosed()
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

// ping checks that the peer is alive and schedules the next ping.
func (s *socket) ping() bool {
	ctx, cancel := context.WithTimeout(s.ctx, s.r.cfg.WriteTimeout)
	defer cancel()
	if err := s.conn.Ping(ctx); err != nil {
		return false
	}
	s.pingTimer.Reset(s.r.cfg.PingInterval)
	return true
}

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
	s.writeDog.Reset(s.r.cfg.WriteTimeout)
	err := s.conn.Write(context.Background(), websocket.MessageText, msg)
	s.writeDog.Stop()
	return err == nil
}

// keptReadBuf bounds the read buffer a socket keeps between frames.
const keptReadBuf = 32 << 10

// maxKeptWriteBuf bounds the join buffer a socket keeps between writes.
const maxKeptWriteBuf = 64 << 10

// send encodes and queues a response frame (see outbox.pushExtra).
func (s *socket) send(f *protocol.ServerFrame) {
	b, err := protocol.Encode(f)
	if err != nil {
		s.log.Error("encode frame", "type", f.Type, "err", err)
		return
	}
	s.out.pushExtra(b)
}

// extraQueueBytes is the budget for replays and responses: enough for a
// full replay window (1 MiB by default) or the largest page several times
// over, and never less than four live queues.
func extraQueueBytes(maxQueue int) int { return max(4*maxQueue, 16<<20) }

func (s *socket) sendError(requestID, conversationID string, e *protocol.Error) {
	s.send(&protocol.ServerFrame{Type: protocol.TypeError, ID: requestID, ConversationID: conversationID, Error: e.Body()})
}

// authenticate verifies a token; a token that does not verify and an
// authenticator that cannot decide are reported differently (the latter is
// retryable).
func (s *socket) authenticate(token string) (id auth.Identity, perr *protocol.Error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.r.cfg.StoreTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil { // host code: a panic fails this attempt only
			id, perr = auth.Identity{}, s.internal(fmt.Errorf("authenticator panic: %v", p), "authenticate")
		}
	}()
	id, err := s.r.cfg.Authenticator.Authenticate(ctx, token)
	if err == nil {
		return id, nil
	}
	if errors.Is(err, auth.ErrInvalidToken) {
		return auth.Identity{}, protocol.Errorf(protocol.CodeUnauthorized, "invalid token")
	}
	s.log.Warn("authenticator failed", "err", err)
	return auth.Identity{}, protocol.Errorf(protocol.CodeUnavailable, "authentication is temporarily unavailable")
}

// reauthenticate handles a hello after the first: a fresh token for the
// same user extends the socket's life past the old token's expiry.
func (s *socket) reauthenticate(f *protocol.ClientFrame) *protocol.Error {
	if f.Token == "" {
		return &protocol.Error{Code: protocol.CodeInvalidField, Message: "a token is required to re-authenticate", Field: "token"}
	}
	id, perr := s.authenticate(f.Token)
	if perr != nil {
		return perr
	}
	if id.UserID != s.identity.UserID {
		return protocol.Errorf(protocol.CodeUnauthorized, "the token is for another user")
	}
	s.identity = id
	s.setExpiry(id.ExpiresAt)
	if !s.isOperator() {
		// Roles come with the token: without the operator role the socket
		// keeps only the user's own conversations.
		for convID, a := range s.attached {
			if a.conv.owner() != id.UserID {
				s.leave(convID)
			}
		}
	}
	s.ok(f)
	return nil
}

// setExpiry records when the socket's credential expires and arms the
// timer that enforces it. Called by the read loop only.
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

func (r *Router) decodeLimits() protocol.DecodeLimits {
	return protocol.DecodeLimits{
		MaxTextBytes: r.cfg.MaxTextBytes, MaxMetadataKeys: r.cfg.MaxMetadataKeys, MaxMetadataValueBytes: r.cfg.MaxMetadataValue,
	}
}
