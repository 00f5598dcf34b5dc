package protocol_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chatboxsdk/chatbox/protocol"
)

var lim = protocol.DecodeLimits{MaxTextBytes: 100}

func TestDecodeRejectsBadFramesWithDocumentedCodes(t *testing.T) {
	cases := []struct {
		name  string
		frame string
		code  protocol.Code
		field string
	}{
		{"not json", `hello`, protocol.CodeBadFrame, ""},
		{"truncated json", `{"type":"send"`, protocol.CodeBadFrame, ""},
		{"array", `[1,2]`, protocol.CodeBadFrame, ""},
		{"string", `"hello"`, protocol.CodeBadFrame, ""},
		{"empty", ``, protocol.CodeBadFrame, ""},
		{"invalid utf8", "{\"type\":\"send\",\"text\":\"\xff\xfe\"}", protocol.CodeBadFrame, ""},
		{"wrong type for text", `{"type":"send","conversation_id":"c","message_id":"m","text":5}`, protocol.CodeBadFrame, "text"},
		{"wrong type for after_seq", `{"type":"resume","conversation_id":"c","after_seq":"1"}`, protocol.CodeBadFrame, "after_seq"},
		{"missing type", `{"id":"1"}`, protocol.CodeInvalidField, "type"},
		{"unknown type", `{"type":"explode"}`, protocol.CodeUnknownType, ""},
		{"send without conversation", `{"type":"send","message_id":"m","text":"hi"}`, protocol.CodeInvalidField, "conversation_id"},
		{"send without message id", `{"type":"send","conversation_id":"c","text":"hi"}`, protocol.CodeInvalidField, "message_id"},
		{"send blank text", `{"type":"send","conversation_id":"c","message_id":"m","text":"  "}`, protocol.CodeInvalidField, "text"},
		{"send text too long", `{"type":"send","conversation_id":"c","message_id":"m","text":"` + strings.Repeat("a", 101) + `"}`, protocol.CodeTooLarge, "text"},
		{"send text with NUL", `{"type":"send","conversation_id":"c","message_id":"m","text":"a\u0000b"}`, protocol.CodeInvalidField, "text"},
		{"id with slash", `{"type":"stop","conversation_id":"../etc"}`, protocol.CodeInvalidField, "conversation_id"},
		{"id too long", `{"type":"stop","conversation_id":"` + strings.Repeat("a", 129) + `"}`, protocol.CodeTooLarge, "conversation_id"},
		{"request id invalid", `{"type":"stop","id":"a b","conversation_id":"c"}`, protocol.CodeInvalidField, "id"},
		{"resume without after_seq", `{"type":"resume","conversation_id":"c"}`, protocol.CodeInvalidField, "after_seq"},
		{"resume negative", `{"type":"resume","conversation_id":"c","after_seq":-1}`, protocol.CodeInvalidField, "after_seq"},
		{"typing without active", `{"type":"typing","conversation_id":"c"}`, protocol.CodeInvalidField, "active"},
		{"limit too big", `{"type":"list","limit":1000}`, protocol.CodeInvalidField, "limit"},
		{"title too long", `{"type":"open","title":"` + strings.Repeat("t", 201) + `"}`, protocol.CodeTooLarge, "title"},
		{"metadata empty key", `{"type":"open","metadata":{"":"v"}}`, protocol.CodeInvalidField, "metadata"},
		{"metadata key too long", `{"type":"open","metadata":{"` + strings.Repeat("k", protocol.MaxMetadataKey+1) + `":"v"}}`, protocol.CodeTooLarge, "metadata"},
		{"metadata value too long", `{"type":"open","metadata":{"k":"` + strings.Repeat("v", protocol.DefaultMaxMetadataValue+1) + `"}}`, protocol.CodeTooLarge, "metadata"},
		{"request id too long", `{"type":"list","id":"` + strings.Repeat("a", 129) + `"}`, protocol.CodeTooLarge, "id"},
		{"deep nesting", `{"type":"open","metadata":` + strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat(`}`, 20000) + `}`, protocol.CodeBadFrame, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := protocol.Decode([]byte(tc.frame), lim)
			if err == nil {
				t.Fatalf("Decode(%.60q) succeeded, want %s", tc.frame, tc.code)
			}
			if err.Code != tc.code {
				t.Fatalf("code = %s (%v), want %s", err.Code, err, tc.code)
			}
			if tc.field != "" && err.Field != tc.field {
				t.Fatalf("field = %q, want %q", err.Field, tc.field)
			}
		})
	}
}

func TestDecodeAcceptsEveryClientFrame(t *testing.T) {
	frames := []string{
		`{"type":"hello","token":"abc"}`,
		`{"type":"hello"}`,
		`{"type":"open"}`,
		`{"type":"open","id":"r1","title":"Trip","model":"default","metadata":{"k":"v"},"limit":20}`,
		`{"type":"open","conversation_id":"c_1"}`,
		`{"type":"history","conversation_id":"c_1","cursor":"abc","limit":10}`,
		`{"type":"list","limit":10}`,
		`{"type":"send","conversation_id":"c_1","message_id":"m-1","text":"Hello"}`,
		`{"type":"stop","conversation_id":"c_1"}`,
		`{"type":"resume","conversation_id":"c_1","after_seq":0}`,
		`{"type":"typing","conversation_id":"c_1","active":false}`,
		`{"type":"end","conversation_id":"c_1"}`,
		`{"type":"leave","conversation_id":"c_1"}`,
		`{"type":"stop","conversation_id":"c_1","future_field":{"x":1}}`,
	}
	for _, f := range frames {
		got, err := protocol.Decode([]byte(f), lim)
		if err != nil {
			t.Errorf("Decode(%s): %v", f, err)
			continue
		}
		var want struct{ Type string }
		_ = json.Unmarshal([]byte(f), &want)
		if got.Type != want.Type {
			t.Errorf("Decode(%s).Type = %q", f, got.Type)
		}
	}
}

func TestDecodeKeepsRequestIDOnValidationError(t *testing.T) {
	f, err := protocol.Decode([]byte(`{"type":"send","id":"req-7","conversation_id":"c"}`), lim)
	if err == nil || f.ID != "req-7" {
		t.Fatalf("want error with id req-7, got %q, %v", f.ID, err)
	}
}

func TestErrorBodyRetryability(t *testing.T) {
	b := (&protocol.Error{Code: protocol.CodeRateLimited, Message: "slow down", RetryAfter: 1500e6}).Body()
	if !b.Retryable || b.RetryAfterMS != 1500 {
		t.Fatalf("rate_limited body = %+v", b)
	}
	if (&protocol.Error{Code: protocol.CodeNotFound}).Body().Retryable {
		t.Fatal("not_found must not be retryable")
	}
}
