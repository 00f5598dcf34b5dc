package protocol_test

import (
	"encoding/json"
	"testing"

	"github.com/chatboxsdk/chatbox/protocol"
)

// FuzzDecode checks that no input panics the decoder, that every rejection
// carries a documented code, and that every accepted frame re-encodes to a
// frame that decodes to the same value.
func FuzzDecode(f *testing.F) {
	seeds := []string{
		`{"type":"hello","token":"t"}`,
		`{"type":"open","title":"x","metadata":{"a":"b"}}`,
		`{"type":"send","conversation_id":"c","message_id":"m","text":"hi"}`,
		`{"type":"resume","conversation_id":"c","after_seq":10}`,
		`{"type":"typing","conversation_id":"c","active":true}`,
		`{"type":"send","text":5}`,
		`{"type":`, `[]`, `null`, "\xff", `{"type":"open","metadata":{"a":{"b":1}}}`,
		`{"type":"list","limit":-1}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	known := map[protocol.Code]bool{
		protocol.CodeBadFrame: true, protocol.CodeUnknownType: true,
		protocol.CodeInvalidField: true, protocol.CodeTooLarge: true,
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := protocol.DecodeLimits{MaxTextBytes: 1024}
		fr, err := protocol.Decode(data, lim)
		if err != nil {
			if !known[err.Code] {
				t.Fatalf("undocumented code %q", err.Code)
			}
			return
		}
		again, mErr := json.Marshal(fr)
		if mErr != nil {
			t.Fatal(mErr)
		}
		fr2, err2 := protocol.Decode(again, lim)
		if err2 != nil {
			t.Fatalf("re-encoded frame rejected: %v (%s)", err2, again)
		}
		if fr2.Type != fr.Type || fr2.Text != fr.Text || fr2.ConversationID != fr.ConversationID {
			t.Fatalf("round trip changed the frame: %+v vs %+v", fr, fr2)
		}
	})
}
