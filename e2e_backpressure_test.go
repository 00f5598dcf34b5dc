package chatbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/protocol"
)

// rawConn is a client that reads only when told to, as a stalled browser
// tab or a congested phone would.
type rawConn struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialRaw(t *testing.T, h *chatboxtest.Harness, user string) *rawConn {
	t.Helper()
	conn, _, err := websocket.Dial(testCtx(t), h.URL, &websocket.DialOptions{Subprotocols: []string{protocol.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(64 << 20)
	t.Cleanup(func() { _ = conn.CloseNow() })
	r := &rawConn{t: t, conn: conn}
	r.write(protocol.ClientFrame{Type: protocol.TypeHello, Token: chatboxtest.Token(user)})
	if f := r.readUntil(protocol.TypeReady); f.User == nil {
		t.Fatalf("no ready: %+v", f)
	}
	return r
}

func (r *rawConn) write(f protocol.ClientFrame) {
	r.t.Helper()
	b, _ := json.Marshal(f)
	if err := r.conn.Write(testCtx(r.t), websocket.MessageText, b); err != nil {
		r.t.Fatal(err)
	}
}

// read returns the frames of the next message, or the read error.
func (r *rawConn) read(ctx context.Context) ([]protocol.ServerFrame, error) {
	_, data, err := r.conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	var out []protocol.ServerFrame
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		var f protocol.ServerFrame
		if err := json.Unmarshal(line, &f); err != nil {
			r.t.Fatalf("bad frame %q: %v", line, err)
		}
		out = append(out, f)
	}
	return out, nil
}

func (r *rawConn) readUntil(typ string) protocol.ServerFrame {
	r.t.Helper()
	for {
		frames, err := r.read(testCtx(r.t))
		if err != nil {
			r.t.Fatalf("waiting for %s: %v", typ, err)
		}
		for _, f := range frames {
			if f.Type == typ {
				return f
			}
		}
	}
}

func TestSlowReaderIsClosedWithSlowConsumerCodeAndCanResume(t *testing.T) {
	// 720 KiB at a pace a healthy socket keeps up with, far beyond what a
	// socket that stops reading can buffer (8 KiB kernel buffers, 256 KiB
	// queue).
	big := make([]string, 120)
	for i := range big {
		big[i] = strings.Repeat("x", 6<<10-1) + " "
	}
	p := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: big, Delay: 2 * time.Millisecond}), scripted.WithResponder(chatboxtest.Echo()))
	h := chatboxtest.New(t, chatboxtest.Config{
		Provider:          p,
		SocketBufferBytes: 8 << 10,
		Options:           []chatbox.Option{chatbox.WithMaxQueueBytes(256 << 10)},
	})
	ctx := testCtx(t)

	watcher := h.Dial(t, "alice") // a healthy socket on the same conversation
	conv := openNew(t, watcher)
	slow := dialRaw(t, h, "alice")
	slow.write(protocol.ClientFrame{Type: protocol.TypeOpen, ConversationID: conv})
	opened := slow.readUntil(protocol.TypeOpened)
	slow.write(protocol.ClientFrame{Type: protocol.TypeSend, ConversationID: conv, MessageID: "m1", Text: "flood me"})
	// The slow socket now stops reading.

	full := strings.Join(big, "")
	r, _, err := watcher.ReadReply(ctx, conv, nil)
	if err != nil || r.Text != full || r.FinishReason != "stop" {
		t.Fatalf("healthy socket got %d bytes (%s), %v", len(r.Text), r.FinishReason, err)
	}
	// Another user on the same server is served normally meanwhile.
	bob := h.Dial(t, "bob")
	bconv := openNew(t, bob)
	if _, err := bob.Send(ctx, bconv, "b1", "still there?"); err != nil {
		t.Fatal(err)
	}
	if br, _, err := bob.ReadReply(ctx, bconv, nil); err != nil || br.Text != "echo: still there?" {
		t.Fatalf("bob: %v %v", br, err)
	}

	// The slow socket reads again: what it gets is a gap-free prefix,
	// then the documented close code.
	var got strings.Builder
	lastSeq := opened.LastSeq
	var closeErr error
	for closeErr == nil {
		frames, err := slow.read(ctx)
		if err != nil {
			closeErr = err
			break
		}
		for _, f := range frames {
			if f.Seq == 0 || f.ConversationID != conv {
				continue
			}
			if f.Seq != lastSeq+1 {
				t.Fatalf("gap in what the slow socket received: %d after %d", f.Seq, lastSeq)
			}
			lastSeq = f.Seq
			if f.Type == protocol.TypeReplyDelta {
				got.WriteString(f.Text)
			}
		}
	}
	if code := websocket.CloseStatus(closeErr); code != protocol.CloseSlowConsumer {
		t.Fatalf("slow socket closed with %v (%d), want %d", closeErr, code, protocol.CloseSlowConsumer)
	}
	if got.Len() >= len(full) {
		t.Fatal("the slow socket received everything: the test did not overflow its queue")
	}

	// Resuming from the last number it saw completes the reply.
	back := h.Dial(t, "alice")
	if _, err := back.Resume(ctx, conv, lastSeq); err != nil {
		t.Fatal(err)
	}
	rest, _, err := back.ReadReply(ctx, conv, &client.Reply{ID: r.ID, Text: got.String()})
	if err != nil || rest.Text != full {
		t.Fatalf("after resume: %d of %d bytes, %v", len(rest.Text), len(full), err)
	}
}
