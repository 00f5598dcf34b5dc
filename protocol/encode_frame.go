package protocol

import (
	"strconv"
	"time"
)

// plainFrame reports whether f is one of the frames a conversation sends
// per message (ack, message, reply.start, reply.end, typing, mode without an
// operator, conversation.ended, a plain error): nothing set but strings,
// numbers, flags, usage, an error, and a message without parts. Encode
// writes those without reflection (appendFrame), the others with
// encoding/json.
func plainFrame(f *ServerFrame) bool {
	if f.User != nil || f.Models != nil || f.Limits != nil || f.Conversation != nil || f.Conversations != nil ||
		f.Messages != nil || f.Reply != nil || f.Call != nil || f.Operator != nil {
		return false
	}
	m := f.Message
	return m == nil || m.Parts == nil && strictTime(m.CreatedAt)
}

// appendFrame appends the encoding of a plain frame (see plainFrame). It
// decodes to the same frame as encoding/json's output (fields in the
// struct's order, the same ones omitted); it differs only in not escaping
// <, > and & inside strings, which JSON does not require.
func appendFrame(dst []byte, f *ServerFrame) []byte {
	dst = append(dst, `{"type":`...)
	dst = AppendString(dst, f.Type)
	dst = appendStringField(dst, `,"id":`, f.ID)
	dst = appendStringField(dst, `,"conversation_id":`, f.ConversationID)
	dst = appendIntField(dst, `,"seq":`, f.Seq)
	dst = appendIntField(dst, `,"protocol":`, int64(f.Protocol))
	dst = appendStringField(dst, `,"default_model":`, f.DefaultModel)
	dst = appendStringField(dst, `,"cursor":`, f.Cursor)
	dst = appendIntField(dst, `,"last_seq":`, f.LastSeq)
	dst = appendStringField(dst, `,"message_id":`, f.MessageID)
	if f.Duplicate {
		dst = append(dst, `,"duplicate":true`...)
	}
	if f.Message != nil {
		dst = append(dst, `,"message":`...)
		dst = appendMessage(dst, f.Message)
	}
	dst = appendStringField(dst, `,"reply_id":`, f.ReplyID)
	dst = appendStringField(dst, `,"reply_to":`, f.ReplyTo)
	dst = appendStringField(dst, `,"model":`, f.Model)
	dst = appendStringField(dst, `,"text":`, f.Text)
	dst = appendStringField(dst, `,"finish_reason":`, f.FinishReason)
	if f.Usage != nil {
		dst = append(dst, `,"usage":`...)
		dst = appendUsage(dst, f.Usage)
	}
	dst = appendStringField(dst, `,"role":`, f.Role)
	if f.Active != nil {
		dst = append(dst, `,"active":`...)
		dst = strconv.AppendBool(dst, *f.Active)
	}
	dst = appendStringField(dst, `,"mode":`, f.Mode)
	if e := f.Error; e != nil {
		dst = append(dst, `,"error":{"code":`...)
		dst = AppendString(dst, string(e.Code))
		dst = append(dst, `,"message":`...)
		dst = AppendString(dst, e.Message)
		dst = append(dst, `,"retryable":`...)
		dst = strconv.AppendBool(dst, e.Retryable)
		dst = appendIntField(dst, `,"retry_after_ms":`, e.RetryAfterMS)
		dst = appendStringField(dst, `,"field":`, e.Field)
		dst = appendStringField(dst, `,"ref":`, e.Ref)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

func appendMessage(dst []byte, m *Message) []byte {
	dst = append(dst, `{"id":`...)
	dst = AppendString(dst, m.ID)
	dst = append(dst, `,"role":`...)
	dst = AppendString(dst, m.Role)
	dst = append(dst, `,"text":`...)
	dst = AppendString(dst, m.Text)
	dst = appendStringField(dst, `,"status":`, m.Status)
	dst = appendStringField(dst, `,"finish_reason":`, m.FinishReason)
	dst = appendStringField(dst, `,"error":`, m.Error)
	dst = appendStringField(dst, `,"reply_to":`, m.ReplyTo)
	dst = appendStringField(dst, `,"model":`, m.Model)
	if m.Usage != nil {
		dst = append(dst, `,"usage":`...)
		dst = appendUsage(dst, m.Usage)
	}
	dst = append(dst, `,"created_at":"`...)
	dst = m.CreatedAt.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, `"}`...)
}

func appendUsage(dst []byte, u *Usage) []byte {
	dst = append(dst, `{"input_tokens":`...)
	dst = strconv.AppendInt(dst, u.InputTokens, 10)
	dst = append(dst, `,"output_tokens":`...)
	dst = strconv.AppendInt(dst, u.OutputTokens, 10)
	return append(dst, '}')
}

// appendStringField appends key and v unless v is empty (omitempty).
func appendStringField(dst []byte, key, v string) []byte {
	if v == "" {
		return dst
	}
	return AppendString(append(dst, key...), v)
}

// appendIntField appends key and v unless v is 0 (omitempty).
func appendIntField(dst []byte, key string, v int64) []byte {
	if v == 0 {
		return dst
	}
	return strconv.AppendInt(append(dst, key...), v, 10)
}

// strictTime reports whether t encodes as RFC 3339 the way time.Time's
// MarshalJSON does; it refuses (and so would Encode) a year outside
// 0–9999 and a zone offset of a day or more.
func strictTime(t time.Time) bool {
	if y := t.Year(); y < 0 || y > 9999 {
		return false
	}
	_, offset := t.Zone()
	return offset > -24*3600 && offset < 24*3600
}
