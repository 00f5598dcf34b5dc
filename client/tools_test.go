package client_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/protocol"
)

// These tests play the server at the frame level: the Server's tool calls
// are tested with the Server; here the client's side of the wire format.

// peer is the server's end of one socket, driven by a test.
type peer struct {
	t    *testing.T
	ctx  context.Context
	conn *websocket.Conn
}

// read returns the next client frame.
func (p *peer) read() protocol.ClientFrame {
	p.t.Helper()
	_, data, err := p.conn.Read(p.ctx)
	if err != nil {
		p.t.Errorf("server read: %v", err)
		return protocol.ClientFrame{}
	}
	var f protocol.ClientFrame
	if err := json.Unmarshal(data, &f); err != nil {
		p.t.Errorf("server read: %v", err)
	}
	return f
}

// send writes frames in one WebSocket message, one a line.
func (p *peer) send(frames ...protocol.ServerFrame) {
	p.t.Helper()
	lines := make([]string, len(frames))
	for i, f := range frames {
		b, err := json.Marshal(f)
		if err != nil {
			p.t.Fatal(err)
		}
		lines[i] = string(b)
	}
	if err := p.conn.Write(p.ctx, websocket.MessageText, []byte(strings.Join(lines, "\n"))); err != nil {
		p.t.Errorf("server write: %v", err)
	}
}

// fakeServer accepts one socket, answers hello with ready and hands the
// socket to script. The client is closed, and the server's goroutine gone,
// when the test ends.
func fakeServer(t *testing.T, script func(p *peer)) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{protocol.Subprotocol}})
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		defer conn.CloseNow()
		p := &peer{t: t, ctx: ctx, conn: conn}
		hello := p.read()
		p.send(protocol.ServerFrame{Type: protocol.TypeReady, ID: hello.ID, Protocol: protocol.Version, User: &protocol.User{ID: "u1"}})
		script(p)
		// Wait for the client to leave.
		_, _, _ = conn.Read(ctx)
	}))
	c, err := client.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), client.Options{Token: "t"})
	if err != nil {
		cancel()
		srv.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		<-done
		srv.Close()
		cancel()
	})
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var expires = time.Date(2026, 11, 27, 10, 20, 0, 0, time.UTC)

const args = `{"order_id":"A-1234"}`

func ev(typ string, seq int64, f protocol.ServerFrame) protocol.ServerFrame {
	f.Type, f.Seq, f.ConversationID = typ, seq, "c1"
	if f.ReplyID == "" {
		f.ReplyID = "r1"
	}
	return f
}

func TestApproveSendsTheAnswerAndReturnsOnItsResponse(t *testing.T) {
	yes, no := true, false
	var got []protocol.ClientFrame
	c := fakeServer(t, func(p *peer) {
		f := p.read()
		got = append(got, f)
		// An event that comes before the answer stays queued for Next.
		p.send(
			ev(protocol.TypeToolCall, 7, protocol.ServerFrame{Call: &protocol.ToolCall{ID: "call_01", Name: "cancel_order", Arguments: args, Status: protocol.ToolRunning}}),
			protocol.ServerFrame{Type: protocol.TypeOK, ID: f.ID, ConversationID: "c1"},
		)
		f = p.read()
		got = append(got, f)
		p.send(protocol.ServerFrame{Type: protocol.TypeError, ID: f.ID, ConversationID: "c1", Error: &protocol.ErrorBody{Code: protocol.CodeConflict, Message: "already answered"}})
	})
	ctx := testCtx(t)
	if err := c.Approve(ctx, "c1", "r1", "call_01", true); err != nil {
		t.Fatal(err)
	}
	err := c.Approve(ctx, "c1", "r1", "call_01", false)
	if client.Code(err) != protocol.CodeConflict {
		t.Fatalf("second answer: %v, want conflict", err)
	}
	f, err := c.Next(ctx)
	if err != nil || f.Type != protocol.TypeToolCall || f.Call.Status != protocol.ToolRunning {
		t.Fatalf("queued event = %+v (%v)", f, err)
	}
	want := []protocol.ClientFrame{
		{Type: protocol.TypeApprove, ConversationID: "c1", ReplyID: "r1", CallID: "call_01", Approved: &yes},
		{Type: protocol.TypeApprove, ConversationID: "c1", ReplyID: "r1", CallID: "call_01", Approved: &no},
	}
	if len(got) != len(want) {
		t.Fatalf("server got %d frames", len(got))
	}
	for i := range want {
		g := got[i]
		if g.ID == "" || g.Type != want[i].Type || g.ConversationID != want[i].ConversationID || g.ReplyID != want[i].ReplyID ||
			g.CallID != want[i].CallID || g.Approved == nil || *g.Approved != *want[i].Approved {
			t.Fatalf("frame %d = %+v, want %+v", i, g, want[i])
		}
	}
	if _, err := protocol.Decode(mustJSON(t, got[1]), protocol.DecodeLimits{}); err != nil {
		t.Fatalf("the server's decoder refuses the frame: %v", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadReplyKeepsPartsAndStopsAtAnApprovalRequest(t *testing.T) {
	c := fakeServer(t, func(p *peer) {
		p.send(
			ev(protocol.TypeReplyStart, 2, protocol.ServerFrame{ReplyTo: "m1"}),
			ev(protocol.TypeReplyReasoning, 3, protocol.ServerFrame{Text: "The user wants "}),
			ev(protocol.TypeReplyReasoning, 4, protocol.ServerFrame{Text: "A-1234 cancelled."}),
			ev(protocol.TypeReplyDelta, 5, protocol.ServerFrame{Text: "Let me do that. "}),
			protocol.ServerFrame{Type: protocol.TypeTyping, ConversationID: "c1", Role: "operator"},
			ev(protocol.TypeToolCall, 6, protocol.ServerFrame{Call: &protocol.ToolCall{ID: "call_01", Name: "cancel_order", Status: protocol.ToolStarted}}),
			ev(protocol.TypeToolDelta, 7, protocol.ServerFrame{Call: &protocol.ToolCall{ID: "call_01"}, Text: `{"order_id":`}),
			ev(protocol.TypeToolDelta, 8, protocol.ServerFrame{Call: &protocol.ToolCall{ID: "call_01"}, Text: `"A-1234"}`}),
			ev(protocol.TypeApprovalRequest, 9, protocol.ServerFrame{Call: &protocol.ToolCall{ID: "call_01", Name: "cancel_order", Arguments: args, Status: protocol.ToolAwaitingApproval, ExpiresAt: &expires}}),
		)
		f := p.read()
		p.send(
			protocol.ServerFrame{Type: protocol.TypeOK, ID: f.ID},
			ev(protocol.TypeToolCall, 10, protocol.ServerFrame{Call: &protocol.ToolCall{ID: "call_01", Name: "cancel_order", Arguments: args, Status: protocol.ToolRunning}}),
			ev(protocol.TypeToolResult, 11, protocol.ServerFrame{Call: &protocol.ToolCall{ID: "call_01", Name: "cancel_order", Status: protocol.ToolDone, Result: "Order A-1234 cancelled."}}),
			ev(protocol.TypeToolCall, 12, protocol.ServerFrame{Call: &protocol.ToolCall{ID: "call_02", Name: "notify", Status: protocol.ToolStarted}}),
			ev(protocol.TypeToolResult, 13, protocol.ServerFrame{Call: &protocol.ToolCall{ID: "call_02", Name: "notify", Status: protocol.ToolError, Result: "mail is down", ErrorCode: "tool_error"}}),
			ev(protocol.TypeReplyDelta, 14, protocol.ServerFrame{Text: "Done: "}),
			ev(protocol.TypeReplyDelta, 15, protocol.ServerFrame{Text: "cancelled."}),
			ev(protocol.TypeReplyEnd, 16, protocol.ServerFrame{FinishReason: "stop"}),
		)
	})
	ctx := testCtx(t)
	r, skipped, err := c.ReadReply(ctx, "c1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Awaiting == nil || r.Awaiting.ID != "call_01" || r.Awaiting.Arguments != args || r.Awaiting.ExpiresAt == nil || !r.Awaiting.ExpiresAt.Equal(expires) || r.FinishReason != "" {
		t.Fatalf("ReadReply did not stop at the approval request: %v", r)
	}
	if r.Text != "Let me do that. " || r.Reasoning != "The user wants A-1234 cancelled." {
		t.Fatalf("text %q, reasoning %q", r.Text, r.Reasoning)
	}
	if len(skipped) != 1 || skipped[0].Type != protocol.TypeTyping {
		t.Fatalf("skipped = %+v", skipped)
	}
	if got := partTypes(r); got != "reasoning text tool" {
		t.Fatalf("parts = %s", got)
	}
	if err := c.Approve(ctx, "c1", r.ID, r.Awaiting.ID, true); err != nil {
		t.Fatal(err)
	}
	before := r
	r, _, err = c.ReadReply(ctx, "c1", &r)
	if err != nil {
		t.Fatal(err)
	}
	if r.FinishReason != "stop" || r.Awaiting != nil || r.Text != "Let me do that. Done: cancelled." {
		t.Fatalf("reply = %v", r)
	}
	if got := partTypes(r); got != "reasoning text tool tool text" {
		t.Fatalf("parts = %s", got)
	}
	if p := r.Parts[4]; p.Text != "Done: cancelled." {
		t.Fatalf("last text part = %q", p.Text)
	}
	if call := r.Call("call_01"); call == nil || call.Status != protocol.ToolDone || call.Result != "Order A-1234 cancelled." || call.Arguments != args {
		t.Fatalf("call_01 = %+v", call)
	}
	if call := r.Call("call_02"); call == nil || call.Status != protocol.ToolError || call.ErrorCode != "tool_error" || call.Name != "notify" {
		t.Fatalf("call_02 = %+v", call)
	}
	if before.Call("call_01").Status != protocol.ToolAwaitingApproval {
		t.Fatal("reading on changed the reply it continued")
	}
	if len(r.Seqs) != 15 || r.Seqs[0] != 2 || r.Seqs[14] != 16 {
		t.Fatalf("seqs = %v", r.Seqs)
	}
}

func partTypes(r client.Reply) string {
	var s []string
	for _, p := range r.Parts {
		s = append(s, p.Type)
	}
	return strings.Join(s, " ")
}

func TestATextOnlyReplyHasNoParts(t *testing.T) {
	c := fakeServer(t, func(p *peer) {
		p.send(
			ev(protocol.TypeReplyStart, 2, protocol.ServerFrame{}),
			ev(protocol.TypeReplyDelta, 3, protocol.ServerFrame{Text: "Hello"}),
			ev(protocol.TypeReplyEnd, 4, protocol.ServerFrame{FinishReason: "max_steps"}),
		)
	})
	r, _, err := c.ReadReply(testCtx(t), "c1", nil)
	if err != nil || r.Text != "Hello" || r.Parts != nil || r.Reasoning != "" || r.FinishReason != "max_steps" {
		t.Fatalf("reply = %v (%v), parts %+v", r, err, r.Parts)
	}
}

// An approval request survives a reconnect: opened carries the paused
// reply, whose call is found and whose events are read on from there.
func TestAnApprovalRequestIsFoundInOpenedAndTheReplyContinues(t *testing.T) {
	opened := protocol.ServerFrame{
		Type: protocol.TypeOpened, ConversationID: "c1", LastSeq: 20,
		Messages: []protocol.Message{
			{ID: "m1", Role: "user", Text: "Cancel A-1234"},
			{ID: "r1", Role: "assistant", Status: "awaiting_approval", ReplyTo: "m1", Parts: []protocol.Part{
				{Type: protocol.PartReasoning, Text: "Cancel it."},
				{Type: protocol.PartTool, Call: &protocol.ToolCall{ID: "call_01", Name: "cancel_order", Arguments: args, Status: protocol.ToolAwaitingApproval, ExpiresAt: &expires}},
			}},
		},
		Reply: &protocol.ReplySnapshot{ReplyID: "r9", Text: "", Parts: []protocol.Part{
			{Type: protocol.PartTool, Call: &protocol.ToolCall{ID: "call_09", Name: "refund", Status: protocol.ToolAwaitingApproval}},
		}},
	}
	pending := client.PendingApprovals(opened)
	if len(pending) != 2 || pending[0].ReplyID != "r1" || pending[0].Call.ID != "call_01" || pending[0].ConversationID != "c1" ||
		pending[1].ReplyID != "r9" || pending[1].Call.ID != "call_09" {
		t.Fatalf("pending = %+v", pending)
	}
	if got := client.PendingApprovals(protocol.ServerFrame{Type: protocol.TypeApprovalRequest, ConversationID: "c1", ReplyID: "r1", Call: &protocol.ToolCall{ID: "x"}}); len(got) != 1 || got[0].Call.ID != "x" {
		t.Fatalf("from an approval.request: %+v", got)
	}
	into := client.ReplyFromMessage(opened.Messages[1])
	if into.Awaiting == nil || into.Awaiting.ID != "call_01" || into.Reasoning != "Cancel it." {
		t.Fatalf("ReplyFromMessage = %v", into)
	}
	if s := client.ReplyFromSnapshot(opened.Reply); s.ID != "r9" || s.Call("call_09") == nil {
		t.Fatalf("ReplyFromSnapshot = %v", s)
	}

	c := fakeServer(t, func(p *peer) {
		p.send(
			ev(protocol.TypeToolResult, 21, protocol.ServerFrame{Call: &protocol.ToolCall{ID: "call_01", Name: "cancel_order", Status: protocol.ToolExpired, Result: "nobody answered", ErrorCode: "expired"}}),
			ev(protocol.TypeReplyDelta, 22, protocol.ServerFrame{Text: "I could not cancel it."}),
			ev(protocol.TypeReplyEnd, 23, protocol.ServerFrame{FinishReason: "stop"}),
		)
	})
	r, _, err := c.ReadReply(testCtx(t), "c1", into)
	if err != nil {
		t.Fatal(err)
	}
	if call := r.Call("call_01"); call.Status != protocol.ToolExpired || call.ErrorCode != "expired" || call.Arguments != args {
		t.Fatalf("call = %+v", call)
	}
	if r.Text != "I could not cancel it." || partTypes(r) != "reasoning tool text" || r.FinishReason != "stop" {
		t.Fatalf("reply = %v, parts %s", r, partTypes(r))
	}
	if opened.Messages[1].Parts[1].Call.Status != protocol.ToolAwaitingApproval {
		t.Fatal("reading on changed the opened frame's message")
	}
}
