package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/chatboxsdk/chatbox/protocol"
)

// floorServer is the reference a chatbox figure is divided by: a bare
// coder/websocket server with a read loop and a writer goroutine per
// socket that speaks just enough of the protocol for the same client and
// workload (hello, open, send, resume), with no store, broker, limiter or
// session state. Replies are produced like the scripted provider's: a
// goroutine per reply emits stamped deltas, waiting shape.Interval before
// each. batched selects how the writer sends: every queued frame as its own
// WebSocket message, or all queued frames joined by '\n' in one message
// written as one WebSocket frame.
type floorServer struct {
	shape   replyShape
	batched bool

	wg     sync.WaitGroup // sockets and reply goroutines
	ctx    context.Context
	cancel context.CancelFunc
}

func newFloorServer(shape replyShape, batched bool) *floorServer {
	ctx, cancel := context.WithCancel(context.Background())
	return &floorServer{shape: shape, batched: batched, ctx: ctx, cancel: cancel}
}

// close ends every socket and reply and waits for them.
func (f *floorServer) close() {
	f.cancel()
	f.wg.Wait()
}

func (f *floorServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/ws" {
		http.NotFound(w, r)
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{protocol.Subprotocol}})
	if err != nil {
		return
	}
	f.wg.Add(1)
	defer f.wg.Done()
	ctx, cancel := context.WithCancel(f.ctx)
	s := &floorSocket{f: f, conn: conn, ctx: ctx, wake: make(chan struct{}, 1)}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.writeLoop()
	}()
	s.readLoop()
	cancel()
	wg.Wait()
	_ = conn.CloseNow()
}

type floorSocket struct {
	f    *floorServer
	conn *websocket.Conn
	ctx  context.Context

	mu     sync.Mutex
	frames [][]byte
	spare  [][]byte
	wake   chan struct{}
	seq    int64 // guarded by mu; one counter per socket is enough for a floor

	buf []byte // the writer's batch buffer
}

// floorFrame is the part of a client frame the floor looks at.
type floorFrame struct {
	Type           string `json:"type"`
	ID             string `json:"id"`
	ConversationID string `json:"conversation_id"`
	MessageID      string `json:"message_id"`
}

func (s *floorSocket) readLoop() {
	for {
		_, data, err := s.conn.Read(s.ctx)
		if err != nil {
			return
		}
		var in floorFrame
		if json.Unmarshal(data, &in) != nil {
			continue
		}
		switch in.Type {
		case protocol.TypeHello:
			s.send(&protocol.ServerFrame{Type: protocol.TypeReady, ID: in.ID, Protocol: protocol.Version,
				User: &protocol.User{ID: "floor"}, Models: []protocol.Model{{ID: "default", Name: "Default"}}, DefaultModel: "default"})
		case protocol.TypeOpen:
			id := in.ConversationID
			if id == "" {
				id = "c_" + rand.Text()
			}
			now := time.Now().UTC()
			s.send(&protocol.ServerFrame{Type: protocol.TypeOpened, ID: in.ID, ConversationID: id,
				Conversation: &protocol.Conversation{ID: id, Model: "default", Status: "active", CreatedAt: now, UpdatedAt: now}})
		case protocol.TypeSend:
			s.send(&protocol.ServerFrame{Type: protocol.TypeAck, ID: in.ID, ConversationID: in.ConversationID, MessageID: in.MessageID})
			s.f.wg.Add(1)
			go func() {
				defer s.f.wg.Done()
				s.reply(in)
			}()
		case protocol.TypeResume:
			// No replay window: the floor answers at once and ends the
			// interrupted reply, so the client carries on.
			s.send(&protocol.ServerFrame{Type: protocol.TypeResumed, ID: in.ID, ConversationID: in.ConversationID})
			s.event(&protocol.ServerFrame{Type: protocol.TypeReplyEnd, ConversationID: in.ConversationID, FinishReason: "stop"})
		default:
			if in.ID != "" {
				s.send(&protocol.ServerFrame{Type: protocol.TypeOK, ID: in.ID, ConversationID: in.ConversationID})
			}
		}
	}
}

// reply streams one reply like the scripted provider would.
func (s *floorSocket) reply(in floorFrame) {
	replyID := "r_" + rand.Text()
	now := time.Now().UTC()
	s.event(&protocol.ServerFrame{Type: protocol.TypeMessage, ConversationID: in.ConversationID,
		Message: &protocol.Message{ID: in.MessageID, Role: "user", Text: "hello", CreatedAt: now}})
	s.event(&protocol.ServerFrame{Type: protocol.TypeReplyStart, ConversationID: in.ConversationID, ReplyID: replyID, ReplyTo: in.MessageID, Model: "default"})
	var timer *time.Timer
	if s.f.shape.Interval > 0 {
		timer = time.NewTimer(s.f.shape.Interval)
		defer timer.Stop()
	}
	buf := make([]byte, 0, 256)
	for range s.f.shape.Deltas {
		if timer != nil {
			select {
			case <-timer.C:
				timer.Reset(s.f.shape.Interval)
			case <-s.ctx.Done():
				return
			}
		} else if s.ctx.Err() != nil {
			return
		}
		text := stampText(time.Now())
		s.mu.Lock()
		s.seq++
		b := protocol.AppendDelta(buf[:0], in.ConversationID, s.seq, replyID, text)
		s.pushLocked(append([]byte(nil), b...))
		s.mu.Unlock()
		s.signal()
	}
	s.event(&protocol.ServerFrame{Type: protocol.TypeReplyEnd, ConversationID: in.ConversationID, ReplyID: replyID, FinishReason: "stop",
		Usage: &protocol.Usage{InputTokens: 1, OutputTokens: int64(s.f.shape.Deltas)}})
}

// send queues a response frame.
func (s *floorSocket) send(fr *protocol.ServerFrame) {
	b, err := protocol.Encode(fr)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.pushLocked(b)
	s.mu.Unlock()
	s.signal()
}

// event queues a conversation event with the next sequence number.
func (s *floorSocket) event(fr *protocol.ServerFrame) {
	s.mu.Lock()
	s.seq++
	fr.Seq = s.seq
	b, err := protocol.Encode(fr)
	if err == nil {
		s.pushLocked(b)
	}
	s.mu.Unlock()
	s.signal()
}

func (s *floorSocket) pushLocked(b []byte) { s.frames = append(s.frames, b) }

func (s *floorSocket) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *floorSocket) writeLoop() {
	for {
		select {
		case <-s.wake:
		case <-s.ctx.Done():
			return
		}
		s.mu.Lock()
		frames := s.frames
		clear(s.spare)
		s.frames, s.spare = s.spare[:0], frames
		s.mu.Unlock()
		if len(frames) == 0 {
			continue
		}
		if !s.write(frames) {
			_ = s.conn.CloseNow()
			return
		}
	}
}

func (s *floorSocket) write(frames [][]byte) bool {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if !s.f.batched {
		for _, fr := range frames {
			if s.conn.Write(ctx, websocket.MessageText, fr) != nil {
				return false
			}
		}
		return true
	}
	// One frame for the whole batch: a message written in pieces through
	// Conn.Writer costs one WebSocket frame (and its bookkeeping) per piece.
	buf := s.buf[:0]
	for i, fr := range frames {
		if i > 0 {
			buf = append(buf, '\n')
		}
		buf = append(buf, fr...)
	}
	if cap(buf) <= 64<<10 {
		s.buf = buf
	} else {
		s.buf = nil
	}
	return s.conn.Write(ctx, websocket.MessageText, buf) == nil
}
