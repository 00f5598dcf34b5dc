package protocol_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chatboxsdk/chatbox/protocol"
)

func TestAppendStringRoundTrips(t *testing.T) {
	inputs := []string{"", "plain", "quote\" back\\slash", "new\nline\r\ttab", "\x00\x01\x1f", "héllo ✓ 😀",
		"line\u2028sep\u2029", "<script>&", strings.Repeat("x", 1000)}
	for _, in := range inputs {
		enc := protocol.AppendString(nil, in)
		if strings.ContainsAny(string(enc), "\n\r") {
			t.Errorf("encoding of %q contains a raw newline", in)
		}
		var out string
		if err := json.Unmarshal(enc, &out); err != nil {
			t.Fatalf("AppendString(%q) = %s: %v", in, enc, err)
		}
		if out != in {
			t.Errorf("round trip %q -> %q", in, out)
		}
	}
}

func TestAppendStringReplacesInvalidUTF8(t *testing.T) {
	enc := protocol.AppendString(nil, "a\xffb")
	var out string
	if err := json.Unmarshal(enc, &out); err != nil {
		t.Fatal(err)
	}
	if out != "a\ufffdb" || !utf8.ValidString(out) {
		t.Fatalf("got %q", out)
	}
}

// The text of a delta may be given as bytes; the encoding is the same.
func TestAppendDeltaOfBytesMatchesString(t *testing.T) {
	for _, in := range []string{"", "plain", "quote\" \\ \n", "héllo ✓ 😀", "a\xffb\xe2\x82", "line\u2028sep", "\x00\x1f"} {
		fromString := protocol.AppendDelta(nil, "c_1", 7, "r_1", in)
		fromBytes := protocol.AppendDelta(nil, "c_1", 7, "r_1", []byte(in))
		if string(fromString) != string(fromBytes) {
			t.Errorf("%q: from bytes %s, from string %s", in, fromBytes, fromString)
		}
	}
}

func TestAppendDeltaMatchesEncode(t *testing.T) {
	fast := protocol.AppendDelta(nil, "c_1", 42, "r_1", "Hi \"there\"\n")
	var a, b protocol.ServerFrame
	if err := json.Unmarshal(fast, &a); err != nil {
		t.Fatal(err)
	}
	slow, err := protocol.Encode(&protocol.ServerFrame{Type: protocol.TypeReplyDelta, ConversationID: "c_1", Seq: 42, ReplyID: "r_1", Text: "Hi \"there\"\n"})
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(slow, &b); err != nil {
		t.Fatal(err)
	}
	if a.Type != b.Type || a.ConversationID != b.ConversationID || a.Seq != b.Seq || a.ReplyID != b.ReplyID || a.Text != b.Text {
		t.Fatalf("fast %+v != slow %+v", a, b)
	}
}

func BenchmarkAppendDelta(b *testing.B) {
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = protocol.AppendDelta(buf[:0], "c_0123456789abcdef", 1234567, "r_0123456789abcdef", "a token of text ")
	}
}

func BenchmarkEncodeFrame(b *testing.B) {
	f := &protocol.ServerFrame{Type: protocol.TypeReplyEnd, ConversationID: "c_0123456789abcdef", Seq: 99, ReplyID: "r_1",
		FinishReason: "stop", Usage: &protocol.Usage{InputTokens: 120, OutputTokens: 300}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := protocol.Encode(f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeSend(b *testing.B) {
	frame := []byte(`{"type":"send","id":"r-12","conversation_id":"c_0123456789abcdef","message_id":"m-0123456789","text":"What is the weather like in Lisbon today?"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := protocol.Decode(frame, protocol.DecodeLimits{MaxTextBytes: 4096}); err != nil {
			b.Fatal(err)
		}
	}
}
