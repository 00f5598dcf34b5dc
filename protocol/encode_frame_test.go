package protocol

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// Every frame Encode writes without reflection decodes to exactly what
// encoding/json's encoding of the same frame decodes to, key by key:
// random frames with every field of a plain frame set or left empty, and
// strings that need escaping.
func TestPlainFramesEncodeAsEncodingJSONDoes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	strs := []string{"", "a", "c_0123", "<b>&amp;</b>", "quote\" back\\", "new\nline\ttab\r", "\x00\x01\x08\x0c\x1f",
		"héllo ✓ 😀", "bad \xff utf8 \xe2\x82", "sep\u2028\u2029", "\u007f"}
	str := func() string { return strs[rng.IntN(len(strs))] }
	num := func() int64 { return []int64{0, 1, -1, 42, 1 << 40}[rng.IntN(5)] }
	zones := []*time.Location{time.UTC, time.FixedZone("x", 5*3600+30*60), time.FixedZone("y", -8*3600)}
	for i := range 5000 {
		f := &ServerFrame{Type: str(), ID: str(), ConversationID: str(), Seq: num(), Protocol: int(num()), DefaultModel: str(),
			Cursor: str(), LastSeq: num(), MessageID: str(), Duplicate: rng.IntN(2) == 0, ReplyID: str(), ReplyTo: str(),
			Model: str(), Text: str(), FinishReason: str(), Role: str(), Mode: str()}
		if rng.IntN(2) == 0 {
			f.Usage = &Usage{InputTokens: num(), OutputTokens: num()}
		}
		if rng.IntN(3) == 0 {
			active := rng.IntN(2) == 0
			f.Active = &active
		}
		if rng.IntN(3) == 0 {
			f.Error = &ErrorBody{Code: Code(str()), Message: str(), Retryable: rng.IntN(2) == 0, RetryAfterMS: num(), Field: str(), Ref: str()}
		}
		if rng.IntN(2) == 0 {
			m := &Message{ID: str(), Role: str(), Text: str(), Status: str(), FinishReason: str(), Error: str(), ReplyTo: str(), Model: str(),
				CreatedAt: time.Unix(rng.Int64N(1<<34), rng.Int64N(1e9)*int64(rng.IntN(2))).In(zones[rng.IntN(len(zones))])}
			if rng.IntN(2) == 0 {
				m.Usage = &Usage{InputTokens: num(), OutputTokens: num()}
			}
			f.Message = m
		}
		if !plainFrame(f) {
			t.Fatalf("frame %d is not plain: %+v", i, f)
		}
		fast, err := Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		slow, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(fast, &a); err != nil {
			t.Fatalf("frame %d: %s: %v", i, fast, err)
		}
		if err := json.Unmarshal(slow, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("frame %d:\nfast %s\nslow %s", i, fast, slow)
		}
	}
}

// Frames with more than a plain frame holds go through encoding/json.
func TestOtherFramesUseEncodingJSON(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, f := range []*ServerFrame{
		{Type: TypeReady, User: &User{ID: "u"}},
		{Type: TypeMessage, Message: &Message{ID: "m", Parts: []Part{{Type: PartText, Text: "x"}}, CreatedAt: at}},
		{Type: TypeMessage, Message: &Message{ID: "m", CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{Type: "mode", Mode: "operator", Operator: &Operator{Name: "Olivia"}},
		{Type: TypeToolCall, Call: &ToolCall{ID: "c"}},
	} {
		if plainFrame(f) {
			t.Errorf("%+v counted as plain", f)
		}
		got, gotErr := Encode(f)
		want, wantErr := json.Marshal(f)
		if string(got) != string(want) || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("Encode = %s, %v; json.Marshal = %s, %v", got, gotErr, want, wantErr)
		}
	}
}

// A typical frame, byte for byte.
func TestEncodeReplyEnd(t *testing.T) {
	got, err := Encode(&ServerFrame{Type: TypeReplyEnd, ConversationID: "c_1", Seq: 9, ReplyID: "r_1", Model: "m",
		FinishReason: "stop", Usage: &Usage{InputTokens: 3, OutputTokens: 4}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"reply.end","conversation_id":"c_1","seq":9,"reply_id":"r_1","model":"m","finish_reason":"stop","usage":{"input_tokens":3,"output_tokens":4}}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func BenchmarkEncodeMessageFrame(b *testing.B) {
	f := &ServerFrame{Type: TypeMessage, ConversationID: "c_0123456789abcdef", Seq: 12, Message: &Message{ID: "m_0123456789",
		Role: "user", Text: "hello there, how are you today?", CreatedAt: time.Now().UTC()}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(f); err != nil {
			b.Fatal(err)
		}
	}
}
