package chatbox_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/protocol"
)

// The tests in this file each settle one point where a reader of
// PROTOCOL.md could expect something other than what the server does.

// TestEndDuringAReplyEndsWithConversationEnded: ending a conversation while
// a reply streams ends the reply first (reply.end, abort), and
// conversation.ended is the conversation's last event, on every socket.
func TestEndDuringAReplyEndsWithConversationEnded(t *testing.T) {
	p := scripted.New(scripted.WithReplies(scripted.Reply{Deltas: []string{"one ", "two"}, StallAfter: 1}))
	h := chatboxtest.New(t, chatboxtest.Config{Provider: p})
	ctx := testCtx(t)
	a, other := h.Dial(t, "alice"), h.Dial(t, "alice")
	conv := openNew(t, a)
	if _, err := other.Open(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(ctx, conv, "m1", "hi"); err != nil {
		t.Fatal(err)
	}
	waitFrame(t, ctx, a, "the first delta", func(f protocol.ServerFrame) bool { return f.Type == protocol.TypeReplyDelta })
	if err := a.End(ctx, conv); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Client{a, other} {
		_, before := waitFrame(t, ctx, c, "conversation.ended", func(f protocol.ServerFrame) bool { return f.Type == protocol.TypeEnded })
		var end *protocol.ServerFrame
		for i := range before {
			if before[i].Type == protocol.TypeReplyEnd {
				end = &before[i]
			}
		}
		if end == nil || end.FinishReason != "abort" {
			t.Fatalf("conversation.ended came without the reply's reply.end (abort) before it: %+v", before)
		}
		// Nothing of the conversation follows: the next frame is the
		// answer to this list.
		if err := c.SendFrame(ctx, protocol.ClientFrame{Type: protocol.TypeList, ID: "after-end"}); err != nil {
			t.Fatal(err)
		}
		f, err := c.Next(ctx)
		if err != nil || f.ID != "after-end" {
			t.Fatalf("after conversation.ended came %+v (%v)", f, err)
		}
	}
}

// TestTypingIsNotEchoedToItsSender: typing reaches the conversation's other
// sockets, never the socket that sent it.
func TestTypingIsNotEchoedToItsSender(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{})
	ctx := testCtx(t)
	sender, other := h.Dial(t, "alice"), h.Dial(t, "alice")
	conv := openNew(t, sender)
	if _, err := other.Open(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if err := sender.Typing(ctx, conv, true); err != nil {
		t.Fatal(err)
	}
	f, _ := waitFrame(t, ctx, other, "typing", func(f protocol.ServerFrame) bool { return f.Type == protocol.TypeTyping })
	if f.Role != "user" || f.Active == nil || !*f.Active {
		t.Fatalf("other socket got %+v", f)
	}
	if _, err := sender.List(ctx, "", 1); err != nil {
		t.Fatal(err)
	}
	if err := sender.SendFrame(ctx, protocol.ClientFrame{Type: protocol.TypeList, ID: "probe"}); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := sender.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if f.Type == protocol.TypeTyping {
			t.Fatalf("typing echoed to its sender: %+v", f)
		}
		if f.ID == "probe" {
			return
		}
	}
}

// TestReleaseByANonHolderIsConflict: an operator who does not hold a
// conversation cannot hand it back: conflict, whether nobody holds it or
// another operator does.
func TestReleaseByANonHolderIsConflict(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{})
	ctx := testCtx(t)
	conv := openNew(t, h.Dial(t, "alice"))
	olivia, oscar := h.Dial(t, "olivia"), h.Dial(t, "oscar")
	for _, op := range []*client.Client{olivia, oscar} {
		if _, err := op.Watch(ctx, conv); err != nil {
			t.Fatal(err)
		}
	}
	if err := olivia.Release(ctx, conv); client.Code(err) != protocol.CodeConflict {
		t.Fatalf("release of a conversation nobody holds: %v, want conflict", err)
	}
	if err := olivia.Takeover(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if err := oscar.Release(ctx, conv); client.Code(err) != protocol.CodeConflict {
		t.Fatalf("release of another operator's conversation: %v, want conflict", err)
	}
	if err := olivia.Release(ctx, conv); err != nil {
		t.Fatalf("the holder's release: %v", err)
	}
}

// TestOversizedFieldsAreTooLarge: every field over its size limit is
// too_large with the field named, whether an id (129 bytes), the metadata's
// entry count, a value or a key; a malformed value is invalid_field.
func TestOversizedFieldsAreTooLarge(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{chatbox.WithMaxMetadataEntries(4), chatbox.WithMaxMetadataValueBytes(32)}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	id128, id129 := strings.Repeat("i", protocol.MaxIDBytes), strings.Repeat("i", protocol.MaxIDBytes+1)
	cases := []struct {
		name, frame string
		code        protocol.Code
		field       string
	}{
		{"request id of 129 bytes", `{"type":"list","id":"` + id129 + `"}`, protocol.CodeTooLarge, "id"},
		{"conversation id of 129 bytes", `{"type":"open","conversation_id":"` + id129 + `"}`, protocol.CodeTooLarge, "conversation_id"},
		{"message id of 129 bytes", `{"type":"send","conversation_id":"c","message_id":"` + id129 + `","text":"x"}`, protocol.CodeTooLarge, "message_id"},
		{"id with a character outside the set", `{"type":"open","conversation_id":"c/1"}`, protocol.CodeInvalidField, "conversation_id"},
		{"too many metadata entries", `{"type":"open","metadata":{` + metadataEntries(5) + `}}`, protocol.CodeTooLarge, "metadata"},
		{"metadata value too long", `{"type":"open","metadata":{"k":"` + strings.Repeat("v", 33) + `"}}`, protocol.CodeTooLarge, "metadata"},
		{"metadata key too long", `{"type":"open","metadata":{"` + strings.Repeat("k", protocol.MaxMetadataKey+1) + `":"v"}}`, protocol.CodeTooLarge, "metadata"},
		{"empty metadata key", `{"type":"open","metadata":{"":"v"}}`, protocol.CodeInvalidField, "metadata"},
	}
	for _, tc := range cases {
		if err := c.Write(ctx, []byte(tc.frame)); err != nil {
			t.Fatal(err)
		}
		f, err := c.Next(ctx)
		if err != nil || f.Error == nil || f.Error.Code != tc.code || f.Error.Field != tc.field {
			t.Errorf("%s: got %+v (%v), want %s on %s", tc.name, f.Error, err, tc.code, tc.field)
		}
	}
	if _, err := c.Request(ctx, protocol.ClientFrame{Type: protocol.TypeList, ID: id128}); err != nil {
		t.Errorf("a request id of exactly 128 bytes: %v", err)
	}
}

// TestFrameSizeLimits: a frame over max_frame_bytes and up to twice it is
// answered too_large on a socket that stays open; one of twice the limit
// plus 100 bytes closes the socket with 1009.
func TestFrameSizeLimits(t *testing.T) {
	const limit = 8 << 10
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{chatbox.WithMaxFrameBytes(limit), chatbox.WithMaxTextBytes(2 << 10)}})
	ctx := testCtx(t)
	c := h.Dial(t, "alice")
	if got := c.Ready.Limits.MaxFrameBytes; got != limit {
		t.Fatalf("ready announces max_frame_bytes %d", got)
	}
	for _, n := range []int{limit + 1, 2 * limit} {
		if err := c.Write(ctx, framed(n)); err != nil {
			t.Fatal(err)
		}
		f, err := c.Next(ctx)
		if err != nil || f.Error == nil || f.Error.Code != protocol.CodeTooLarge {
			t.Fatalf("frame of %d bytes: %+v (%v), want too_large", n, f.Error, err)
		}
	}
	if _, err := c.List(ctx, "", 1); err != nil {
		t.Fatalf("socket closed by a frame up to twice the limit: %v", err)
	}
	_ = c.Write(ctx, framed(2*limit+100))
	_, err := c.Next(ctx)
	expectClose(t, err, protocol.CloseMessageTooBig)
}

// framed returns a list frame of exactly n bytes.
func framed(n int) []byte {
	head := `{"type":"list","cursor":"`
	tail := `"}`
	return fmt.Appendf(nil, "%s%s%s", head, strings.Repeat("a", n-len(head)-len(tail)), tail)
}
