package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/internal/access"
	"github.com/chatboxsdk/chatbox/protocol"
)

// socket is one WebSocket connection: transport and dispatch only. Its read
// loop runs in a goroutine of the Engine and only reads, decodes and queues
// frames; the inbox's worker runs them in order (dispatch.go); its writer
// runs, only while there is something to write, in a goroutine the outbox
// starts. Only the writer writes to conn.
type socket struct {
	e    *Engine
	conn *websocket.Conn
	out  *outbox
	in   *inbox
	ref  string // identifies the socket in logs and in control events
	log  *slog.Logger

	identity auth.Identity // set by the handshake, then by the worker only
	// attached is touched only by the worker (and by run once it is gone);
	// nil until the first attach.
	attached map[string]*attachment
	cur      *protocol.ClientFrame // the frame the worker is handling

	abortOnce sync.Once
	// closeCode is the close code the writer sent (0: none); for metrics.
	// (Beside abortOnce, which leaves four bytes of padding it can use.)
	closeCode atomic.Int32
	writeBuf  []byte           // writer only: joins a batch into one message
	writeDog  *time.Timer      // drops the connection when a write stalls
	limited   io.LimitedReader // read loop only: reused for every frame

	// expiresAt is the credential's expiry in Unix nanoseconds (0: never);
	// written by the worker, read by the expiry timer.
	expiresAt   atomic.Int64
	expiryTimer *time.Timer // worker only (created on first use)
	pingTimer   *time.Timer
	userPlace   place // among the user's sockets; set by the handshake
}

func newSocket(e *Engine, conn *websocket.Conn) *socket {
	ref := access.NewRef()
	s := &socket{e: e, conn: conn, ref: ref, log: e.log.With("socket", ref)}
	s.out = newOutbox(e.cfg.MaxQueueBytes, extraQueueBytes(e.cfg.MaxQueueBytes), s.writeLoop)
	s.in = newInbox(s.work)
	s.writeDog = time.AfterFunc(time.Hour, s.abort)
	s.writeDog.Stop()
	return s
}

// abort closes the connection at once, without the close handshake.
func (s *socket) abort() {
	s.abortOnce.Do(func() { _ = s.conn.CloseNow() })
}

func (s *socket) run(preauth *auth.Identity) {
	// Frames a little over MaxFrameBytes are answered with too_large while
	// the socket survives; over twice the limit the library closes the
	// socket with 1009.
	s.conn.SetReadLimit(int64(2 * s.e.cfg.MaxFrameBytes))
	s.pingTimer = time.AfterFunc(s.e.cfg.PingInterval, s.out.requestPing)

	if s.handshake(preauth) {
		s.readLoop()
	}

	// The read side is done: the peer left, or a close was requested. The
	// frame being handled finishes and queued ones are dropped; then
	// deliveries stop, the writer flushes what is queued and closes
	// (bounded by WriteTimeout and the close handshake), and everything is
	// released.
	s.in.close()
	for id := range s.attached {
		s.leave(id)
	}
	s.out.close(protocol.CloseNormal, "")
	s.out.wait()
	s.pingTimer.Stop()
	s.writeDog.Stop()
	if s.expiryTimer != nil {
		s.expiryTimer.Stop()
	}
	s.abort()
	if s.userPlace.release != nil {
		s.userPlace.release()
	}
	code := int(s.closeCode.Load())
	if code == 0 {
		code = int(websocket.StatusAbnormalClosure) // dropped without a close frame
	}
	s.e.cfg.Metrics.SocketClosed(code)
}

// handshake waits for the hello frame (authenticating with its token when
// no identity was proven at upgrade) and answers ready.
func (s *socket) handshake(preauth *auth.Identity) bool {
	timedOut := make(chan struct{})
	timer := time.AfterFunc(s.e.cfg.HelloTimeout, func() {
		defer close(timedOut)
		s.out.close(protocol.CloseProtocolError, "no hello frame in time")
	})
	defer func() {
		if !timer.Stop() {
			<-timedOut
		}
	}()

	data, buf, ok := s.readFrame()
	if !ok {
		return false
	}
	f, perr := protocol.Decode(data, s.e.limits)
	s.e.putReadBuf(buf)
	if perr == nil && f.Type != protocol.TypeHello {
		perr = protocol.Errorf(protocol.CodeHelloRequired, "the first frame must be hello")
	}
	if perr != nil {
		s.sendError(f.ID, "", perr)
		s.out.close(protocol.CloseProtocolError, "hello required")
		return false
	}
	// The handshake's calls use the engine's context: the socket has no
	// worker yet, hence no context of its own (a socket's context is
	// cancelled only with the engine's anyway).
	if preauth != nil {
		s.identity = *preauth
	} else {
		id, perr := s.e.verifier.Verify(s.e.base, f.Token)
		if perr != nil {
			s.sendError(f.ID, "", perr)
			s.closeAfterAuthFailure(perr)
			return false
		}
		s.identity = id
	}
	place, ok := s.e.takePlace(s.e.base, "sockets", s.e.userSockets, s.identity.UserID, s.e.cfg.MaxSocketsPerUser)
	if !ok {
		s.sendError(f.ID, "", protocol.Errorf(protocol.CodeLimitReached, "too many connections for this user"))
		s.out.close(protocol.CloseTooManyConnections, "too many connections")
		return false
	}
	s.userPlace = place
	s.setExpiry(s.identity.ExpiresAt)
	s.log = s.log.With("user", s.identity.UserID)
	s.send(&protocol.ServerFrame{
		Type:     protocol.TypeReady,
		ID:       f.ID,
		Protocol: protocol.Version,
		User:     &protocol.User{ID: s.identity.UserID, Name: s.identity.Name, Roles: s.identity.Roles},
		Models:   s.e.models.order, DefaultModel: s.e.cfg.DefaultModel,
		Limits: s.e.limitsFrame(),
	})
	return true
}

// closeAfterAuthFailure closes a socket whose hello did not authenticate:
// with "get a new token" (4001) when the token was refused, with "try again
// later" (1013) when the authenticator could not decide.
func (s *socket) closeAfterAuthFailure(perr *protocol.Error) {
	if perr.Code == protocol.CodeUnauthorized {
		s.out.close(protocol.CloseUnauthorized, "unauthorized")
		return
	}
	s.out.close(int(websocket.StatusTryAgainLater), "authentication unavailable")
}

func (s *socket) readLoop() {
	for {
		data, buf, ok := s.readFrame()
		if !ok {
			return
		}
		if data != nil { // nil: answered already (too large, binary)
			s.handle(data)
			s.e.putReadBuf(buf)
		}
	}
}

// handle decodes one frame and queues it for the worker. It is kept out of
// readLoop so that the frames parked on an idle socket's stack stay small
// and the runtime can shrink that stack: most sockets are idle most of the
// time.
//
//go:noinline
func (s *socket) handle(data []byte) {
	f, perr := protocol.Decode(data, s.e.limits)
	if perr != nil {
		s.sendError(f.ID, f.ConversationID, perr)
		return
	}
	if !s.in.push(&f) {
		s.sendError(f.ID, f.ConversationID, &protocol.Error{
			Code: protocol.CodeRateLimited, Message: "too many frames waiting: slow down", RetryAfter: time.Second,
		})
	}
}

// readFrame reads one message into a buffer lent by the engine, taken
// once the message has begun: give it back with putReadBuf once data is
// used. It returns ok == false when the socket is done, and data == nil
// (and no buffer) for a message already answered with an error (binary,
// too large).
func (s *socket) readFrame() (data []byte, buf *bytes.Buffer, ok bool) {
	// The read waits on a context that is never cancelled: given one that
	// can be, the library registers a context.AfterFunc for every read (and
	// the context grows a Done channel and a map of children), which an
	// idle socket would hold while it waits. Nothing is lost: the read ends
	// when the connection closes, and whatever cancels the engine's context
	// (Shutdown past its deadline) also drops every connection.
	typ, rd, err := s.conn.Reader(context.Background())
	if err != nil {
		if brokeWireProtocol(s.e.base, err) {
			s.out.close(protocol.CloseWireViolation, "protocol violation")
		}
		return nil, nil, false
	}
	buf = s.e.readBuf()
	limit := int64(s.e.cfg.MaxFrameBytes)
	s.limited = io.LimitedReader{R: rd, N: limit + 1}
	n, err := buf.ReadFrom(&s.limited)
	s.limited.R = nil
	switch {
	case err != nil:
		ok = false
	case n > limit:
		if _, err := io.Copy(io.Discard, rd); err != nil {
			ok = false // over the hard limit: the library closed with 1009
			break
		}
		s.sendError("", "", &protocol.Error{Code: protocol.CodeTooLarge, Message: "frame is too large", Field: "frame"})
		ok = true
	case typ != websocket.MessageText:
		s.sendError("", "", protocol.Errorf(protocol.CodeBadFrame, "binary frames are not supported"))
		ok = true
	default:
		return buf.Bytes(), buf, true
	}
	s.e.putReadBuf(buf)
	return nil, nil, ok
}

// brokeWireProtocol reports whether err, from waiting for the next message,
// is the peer breaking RFC 6455 (an unmasked frame, reserved bits, an
// unknown opcode, a malformed control frame) rather than the peer closing
// or leaving, or the socket being closed. The library answers some of
// these with 1002 itself and drops the connection on others (an unmasked
// frame); the socket then closes with 1002 for all of them.
func brokeWireProtocol(ctx context.Context, err error) bool {
	if ctx.Err() != nil || websocket.CloseStatus(err) != -1 {
		return false
	}
	var ne net.Error
	return !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, net.ErrClosed) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &ne)
}

// keptReadBuf bounds the buffers the engine keeps for reading frames: one
// large frame must not keep its buffer.
const keptReadBuf = 32 << 10

// readBuf lends a buffer to read one frame into. Buffers are shared by the
// engine's sockets rather than kept by each: a socket holds one only while
// it reads and decodes a frame, so an idle socket that once read a large
// frame does not keep its buffer (up to keptReadBuf) for as long as it
// stays open.
func (e *Engine) readBuf() *bytes.Buffer {
	if b, ok := e.readBufs.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

// putReadBuf gives back a buffer from readBuf (b may be nil).
func (e *Engine) putReadBuf(b *bytes.Buffer) {
	if b == nil || b.Cap() > keptReadBuf {
		return
	}
	b.Reset()
	e.readBufs.Put(b)
}

// send encodes and queues a response frame (see outbox.pushExtra).
func (s *socket) send(f *protocol.ServerFrame) {
	b, err := protocol.Encode(f)
	if err != nil {
		s.log.Error("encode frame", "type", f.Type, "err", err)
		return
	}
	s.out.pushExtra(b)
}

func (s *socket) sendError(requestID, conversationID string, e *protocol.Error) {
	s.send(&protocol.ServerFrame{Type: protocol.TypeError, ID: requestID, ConversationID: conversationID, Error: e.Body()})
}

// ok answers a request that has no other response, when it carried an id.
func (s *socket) ok(f *protocol.ClientFrame) {
	if f.ID != "" {
		s.send(&protocol.ServerFrame{Type: protocol.TypeOK, ID: f.ID, ConversationID: f.ConversationID})
	}
}

// extraQueueBytes is the budget for replays and responses: enough for a
// full replay window (1 MiB by default) or the largest page several times
// over, and never less than four live queues.
func extraQueueBytes(maxQueue int) int { return max(4*maxQueue, 16<<20) }
