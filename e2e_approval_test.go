package chatbox_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/broker"
	memorybroker "github.com/chatboxsdk/chatbox/broker/memory"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/tools"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// approvalSetup is a conversation whose reply waits for approval of a
// refund: the model first looks the order up (no approval), then asks for
// the refund (approval needed), then answers with what the refund gave.
type approvalSetup struct {
	h                 *chatboxtest.Harness
	model             *stepModel
	lookups, refunds  *counter
	conv, reply, call string
}

func newApprovalModel() *stepModel {
	return &stepModel{respond: func(step int, req llm.Request) []llm.Event {
		res := lastToolResults(req)
		switch {
		case len(res) == 0:
			return callTool("look", "lookup_order", `{"order_id":"7"}`)
		case res[0].Call.Name == "lookup_order":
			return callTool("refund", "refund_order", `{"order_id":"7"}`)
		case res[0].IsError:
			return answer("No refund: " + res[0].Text)
		default:
			return answer("Refunded: " + res[0].Text)
		}
	}}
}

func startApproval(t *testing.T, store storage.Store, opts ...chatbox.Option) (*approvalSetup, *client.Client) {
	t.Helper()
	s := &approvalSetup{model: newApprovalModel(), lookups: &counter{}, refunds: &counter{}}
	s.h = newApprovalHarness(t, store, s.model, s.lookups, s.refunds, opts...)
	ctx := testCtx(t)
	c := s.h.Dial(t, "alice")
	s.conv = openNew(t, c)
	if _, err := c.Send(ctx, s.conv, "m1", "refund order 7"); err != nil {
		t.Fatal(err)
	}
	req, seen := readUntil(ctx, t, c, protocol.TypeApprovalRequest)
	if req.Call == nil || req.Call.Name != "refund_order" || req.Call.Status != protocol.ToolAwaitingApproval || req.Call.ExpiresAt == nil {
		t.Fatalf("approval.request = %+v after %s", req.Call, frameTypes(seen))
	}
	s.reply, s.call = req.ReplyID, req.Call.ID
	if s.refunds.get() != 0 || s.lookups.get() != 1 {
		t.Fatalf("before approval: %d refunds, %d lookups", s.refunds.get(), s.lookups.get())
	}
	return s, c
}

func newApprovalHarness(t *testing.T, store storage.Store, model llm.Provider, lookups, refunds *counter, opts ...chatbox.Option) *chatboxtest.Harness {
	refund, err := tools.New("refund_order", "Refunds an order.", func(ctx context.Context, in orderIn) (string, error) {
		refunds.add()
		return "refund of order " + in.OrderID + " issued", nil
	}, tools.WithApproval())
	if err != nil {
		t.Fatal(err)
	}
	return chatboxtest.New(t, chatboxtest.Config{Store: store, Provider: model, Options: append([]chatbox.Option{
		chatbox.WithTools(newOrderTool(t, lookups), refund),
	}, opts...)})
}

// finish reads the rest of the reply and checks how it ended.
func (s *approvalSetup) finish(t *testing.T, c *client.Client, wantText string) {
	t.Helper()
	ctx := testCtx(t)
	end, seen := readUntil(ctx, t, c, protocol.TypeReplyEnd)
	if end.ReplyID != s.reply || end.FinishReason != "stop" {
		t.Fatalf("reply.end %+v after %s", end, frameTypes(seen))
	}
	m, err := s.h.Store.GetMessage(ctx, s.conv, s.reply)
	if err != nil || m.Status != storage.MessageComplete || m.Text != wantText {
		t.Fatalf("stored reply %+v, %v; want text %q", m, err, wantText)
	}
	if s.lookups.get() != 1 {
		t.Fatalf("the lookup ran %d times; it must run once", s.lookups.get())
	}
}

func TestAnApprovedCallRunsAndTheReplyGoesOn(t *testing.T) {
	s, c := startApproval(t, nil)
	ctx := testCtx(t)
	if _, err := approve(ctx, c, s.conv, s.reply, s.call, true); err != nil {
		t.Fatal(err)
	}
	s.finish(t, c, "Refunded: refund of order 7 issued")
	if s.refunds.get() != 1 {
		t.Fatalf("refunds = %d", s.refunds.get())
	}
	// A second answer finds it answered.
	if _, err := approve(ctx, c, s.conv, s.reply, s.call, true); client.Code(err) != protocol.CodeConflict {
		t.Fatalf("second answer: %v, want conflict", err)
	}
}

func TestADeniedCallDoesNotRunAndTheModelIsTold(t *testing.T) {
	s, c := startApproval(t, nil)
	ctx := testCtx(t)
	if _, err := approve(ctx, c, s.conv, s.reply, s.call, false); err != nil {
		t.Fatal(err)
	}
	res, _ := readUntil(ctx, t, c, protocol.TypeToolResult)
	if res.Call.Status != protocol.ToolDenied {
		t.Fatalf("tool.result = %+v", res.Call)
	}
	s.finish(t, c, "No refund: the call was not approved")
	if s.refunds.get() != 0 {
		t.Fatal("a denied call ran")
	}
}

func TestAnUnansweredApprovalExpires(t *testing.T) {
	s, c := startApproval(t, nil, chatbox.WithApprovalTTL(time.Second))
	ctx := testCtx(t)
	res, _ := readUntil(ctx, t, c, protocol.TypeToolResult)
	if res.Call.Status != protocol.ToolExpired {
		t.Fatalf("tool.result = %+v", res.Call)
	}
	s.finish(t, c, "No refund: nobody answered the approval request in time")
	if _, err := approve(ctx, c, s.conv, s.reply, s.call, true); client.Code(err) != protocol.CodeConflict {
		t.Fatalf("a late answer: %v, want conflict", err)
	}
}

func TestAnApprovalAnsweredFromASecondTab(t *testing.T) {
	s, first := startApproval(t, nil)
	ctx := testCtx(t)
	second := s.h.Dial(t, "alice")
	opened, err := second.Open(ctx, s.conv)
	if err != nil {
		t.Fatal(err)
	}
	last := opened.Messages[len(opened.Messages)-1]
	if last.ID != s.reply || last.Status != string(storage.MessageAwaitingApproval) || last.Parts[len(last.Parts)-1].Call.Status != protocol.ToolAwaitingApproval {
		t.Fatalf("the second tab sees %+v", last)
	}
	// Sending while a call waits is refused.
	if _, err := second.Send(ctx, s.conv, "m2", "hello?"); client.Code(err) != protocol.CodeBusy {
		t.Fatalf("send while waiting: %v, want busy", err)
	}
	if _, err := approve(ctx, second, s.conv, s.reply, s.call, true); err != nil {
		t.Fatal(err)
	}
	s.finish(t, first, "Refunded: refund of order 7 issued") // the first tab follows
}

func TestAnApprovalAnsweredAfterAReconnect(t *testing.T) {
	s, c := startApproval(t, nil)
	ctx := testCtx(t)
	_ = c.Close()
	c = s.h.Dial(t, "alice")
	if _, err := c.Open(ctx, s.conv); err != nil {
		t.Fatal(err)
	}
	if _, err := approve(ctx, c, s.conv, s.reply, s.call, true); err != nil {
		t.Fatal(err)
	}
	s.finish(t, c, "Refunded: refund of order 7 issued")
}

func TestAnApprovalAnsweredAfterTheServerRestarted(t *testing.T) {
	store := chatboxtest.NewStore(t)
	s, c := startApproval(t, store)
	ctx := testCtx(t)
	_ = c.Close()
	if err := s.h.Server.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// A new Server on the same store, with fresh tools and model.
	s.h = newApprovalHarness(t, store, s.model, s.lookups, s.refunds)
	c = s.h.Dial(t, "alice")
	if _, err := c.Open(ctx, s.conv); err != nil {
		t.Fatal(err)
	}
	if _, err := approve(ctx, c, s.conv, s.reply, s.call, true); err != nil {
		t.Fatal(err)
	}
	s.finish(t, c, "Refunded: refund of order 7 issued")
	if s.refunds.get() != 1 {
		t.Fatalf("refunds = %d", s.refunds.get())
	}
}

func TestAnOperatorAnswersAnApprovalDuringATakeover(t *testing.T) {
	s, c := startApproval(t, nil)
	ctx := testCtx(t)
	op := s.h.Dial(t, "olivia")
	if _, err := op.Watch(ctx, s.conv); err != nil {
		t.Fatal(err)
	}
	// Watching is not holding.
	if _, err := approve(ctx, op, s.conv, s.reply, s.call, true); client.Code(err) != protocol.CodeForbidden {
		t.Fatalf("a watching operator's answer: %v, want forbidden", err)
	}
	if err := op.Takeover(ctx, s.conv); err != nil {
		t.Fatal(err)
	}
	if _, err := approve(ctx, op, s.conv, s.reply, s.call, true); err != nil {
		t.Fatal(err)
	}
	end, _ := readUntil(ctx, t, c, protocol.TypeReplyEnd)
	if end.FinishReason != "handoff" || s.refunds.get() != 1 {
		t.Fatalf("reply ended %q with %d refunds; want handoff after the refund ran", end.FinishReason, s.refunds.get())
	}
	if n := len(s.model.requests()); n != 2 {
		t.Fatalf("the model was asked %d times; an operator holds the conversation", n)
	}
}

func TestStopEndsAReplyThatWaitsForApproval(t *testing.T) {
	s, c := startApproval(t, nil)
	ctx := testCtx(t)
	if err := c.Stop(ctx, s.conv); err != nil {
		t.Fatal(err)
	}
	end, _ := readUntil(ctx, t, c, protocol.TypeReplyEnd)
	m, err := s.h.Store.GetMessage(ctx, s.conv, s.reply)
	if end.FinishReason != "abort" || err != nil || m.Status != storage.MessageComplete || s.refunds.get() != 0 {
		t.Fatalf("end %q, stored %+v %v", end.FinishReason, m, err)
	}
	// The conversation takes messages again.
	if _, err := c.Send(ctx, s.conv, "m2", "never mind"); err != nil {
		t.Fatal(err)
	}
}

func TestAResentMessageDoesNotRunItsToolsAgain(t *testing.T) {
	s, c := startApproval(t, nil)
	ctx := testCtx(t)
	ack, err := c.Send(ctx, s.conv, "m1", "refund order 7")
	if err != nil || !ack.Duplicate {
		t.Fatalf("resend: %+v, %v", ack, err)
	}
	if _, err := approve(ctx, c, s.conv, s.reply, s.call, true); err != nil {
		t.Fatal(err)
	}
	s.finish(t, c, "Refunded: refund of order 7 issued")
	if s.refunds.get() != 1 || len(s.model.requests()) != 3 {
		t.Fatalf("refunds %d, model calls %d", s.refunds.get(), len(s.model.requests()))
	}
}

// heldApprovalBroker holds the publishing of the first approval request
// until released, so a test can open the conversation while the reply is
// pausing: stored as waiting, its requests not yet out.
type heldApprovalBroker struct {
	broker.Broker
	reached, release chan struct{}
	once             sync.Once
}

func (b *heldApprovalBroker) Publish(ctx context.Context, conversationID string, encode broker.EncodeFunc) (int64, error) {
	if data, err := encode(0); err == nil && bytes.Contains(data, []byte(`"type":"approval.request"`)) {
		b.once.Do(func() {
			close(b.reached)
			<-b.release
		})
	}
	return b.Broker.Publish(ctx, conversationID, encode)
}

// A tab that opens the conversation while the reply is pausing (stored as
// waiting, its approval request not yet published) is shown the stored
// reply waiting for approval, not a reply in progress, and then gets the
// request.
func TestAnOpenWhileTheReplyPausesListsItAsWaiting(t *testing.T) {
	mb, err := memorybroker.New(memorybroker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	held := &heldApprovalBroker{Broker: mb, reached: make(chan struct{}), release: make(chan struct{})}
	h := newApprovalHarness(t, nil, newApprovalModel(), &counter{}, &counter{}, chatbox.WithBroker(held))
	ctx := testCtx(t)
	first := h.Dial(t, "alice")
	conv := openNew(t, first)
	if _, err := first.Send(ctx, conv, "m1", "refund order 7"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held.reached:
	case <-ctx.Done():
		t.Fatal("no approval request was published")
	}
	second := h.Dial(t, "alice")
	opened, err := second.Open(ctx, conv)
	close(held.release)
	if err != nil {
		t.Fatal(err)
	}
	if opened.Reply != nil {
		t.Fatalf("the pausing reply is shown in progress: %+v", opened.Reply)
	}
	last := opened.Messages[len(opened.Messages)-1]
	if last.Status != string(storage.MessageAwaitingApproval) || last.Parts[len(last.Parts)-1].Call.Status != protocol.ToolAwaitingApproval {
		t.Fatalf("the second tab sees %+v", last)
	}
	req, seen := readUntil(ctx, t, second, protocol.TypeApprovalRequest)
	if req.ReplyID != last.ID {
		t.Fatalf("approval.request for %s after %s, want %s", req.ReplyID, frameTypes(seen), last.ID)
	}
}
