package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

// DecodeLimits are the configurable limits Decode enforces.
type DecodeLimits struct {
	// MaxTextBytes caps the text of a send frame. Zero means no cap beyond
	// the frame size.
	MaxTextBytes int
	// MaxMetadataKeys caps the entries of an open frame's metadata; zero
	// means DefaultMaxMetadataKeys.
	MaxMetadataKeys int
	// MaxMetadataValueBytes caps each metadata value; zero means
	// DefaultMaxMetadataValue.
	MaxMetadataValueBytes int
	// MaxAttachments caps the files a send frame references; zero means
	// DefaultMaxAttachments.
	MaxAttachments int
}

// DefaultMaxAttachments applies when DecodeLimits leaves MaxAttachments
// at zero.
const DefaultMaxAttachments = 4

// Decode parses and validates one client frame. Every failure is an *Error
// with a stable code: bad_frame (not a JSON object, invalid UTF-8, a field of
// the wrong type), unknown_type, invalid_field or too_large (with Field set).
// The returned frame's ID is filled in whenever it could be read, even on
// failure, so the error can be correlated with the request.
func Decode(data []byte, lim DecodeLimits) (ClientFrame, *Error) {
	var f ClientFrame
	if !utf8.Valid(data) {
		return f, Errorf(CodeBadFrame, "frame is not valid UTF-8")
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return f, Errorf(CodeBadFrame, "frame must be a JSON object")
	}
	if err := json.Unmarshal(trimmed, &f); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			e := Errorf(CodeBadFrame, "field has the wrong type")
			e.Field = typeErr.Field
			return f, e
		}
		return f, Errorf(CodeBadFrame, "frame is not valid JSON")
	}
	if e := validate(&f, lim); e != nil {
		return f, e
	}
	return f, nil
}

func validate(f *ClientFrame, lim DecodeLimits) *Error {
	if f.ID != "" {
		if e := checkID("id", f.ID); e != nil {
			f.ID = "" // do not echo an invalid id
			return e
		}
	}
	if f.Type == "" {
		return fieldError(CodeInvalidField, "type", "type is required")
	}
	switch f.Type {
	case TypeHello:
		if len(f.Token) > MaxTokenBytes {
			return fieldError(CodeTooLarge, "token", "token is too long")
		}
	case TypeOpen:
		if f.ConversationID != "" {
			if e := checkID("conversation_id", f.ConversationID); e != nil {
				return e
			}
		}
		if e := checkShortText("title", f.Title, MaxTitleBytes); e != nil {
			return e
		}
		if e := checkShortText("model", f.Model, MaxModelBytes); e != nil {
			return e
		}
		if e := checkMetadata(f.Metadata, lim); e != nil {
			return e
		}
		return checkLimit(f.Limit)
	case TypeHistory:
		if e := requireID("conversation_id", f.ConversationID); e != nil {
			return e
		}
		if e := checkShortText("cursor", f.Cursor, 512); e != nil {
			return e
		}
		return checkLimit(f.Limit)
	case TypeList:
		if e := checkShortText("cursor", f.Cursor, 512); e != nil {
			return e
		}
		return checkLimit(f.Limit)
	case TypeSend:
		if e := requireID("conversation_id", f.ConversationID); e != nil {
			return e
		}
		if e := requireID("message_id", f.MessageID); e != nil {
			return e
		}
		if len(f.Attachments) > 0 {
			return checkAttachments(f, lim)
		}
		return checkText(f.Text, lim.MaxTextBytes)
	case TypeStop, TypeEnd, TypeLeave, TypeHelp, TypeTakeover, TypeRelease:
		return requireID("conversation_id", f.ConversationID)
	case TypeWatch:
		if e := requireID("conversation_id", f.ConversationID); e != nil {
			return e
		}
		return checkLimit(f.Limit)
	case TypeResume:
		if e := requireID("conversation_id", f.ConversationID); e != nil {
			return e
		}
		if f.AfterSeq == nil {
			return fieldError(CodeInvalidField, "after_seq", "after_seq is required")
		}
		if *f.AfterSeq < 0 {
			return fieldError(CodeInvalidField, "after_seq", "after_seq must not be negative")
		}
	case TypeTyping:
		if e := requireID("conversation_id", f.ConversationID); e != nil {
			return e
		}
		if f.Active == nil {
			return fieldError(CodeInvalidField, "active", "active is required")
		}
	case TypeApprove:
		for _, id := range [...]struct{ name, v string }{{"conversation_id", f.ConversationID}, {"reply_id", f.ReplyID}, {"call_id", f.CallID}} {
			if e := requireID(id.name, id.v); e != nil {
				return e
			}
		}
		if f.Approved == nil {
			return fieldError(CodeInvalidField, "approved", "approved is required")
		}
	default:
		return Errorf(CodeUnknownType, "unknown frame type")
	}
	return nil
}

func fieldError(code Code, field, msg string) *Error {
	return &Error{Code: code, Message: msg, Field: field}
}

func requireID(field, v string) *Error {
	if v == "" {
		return fieldError(CodeInvalidField, field, field+" is required")
	}
	return checkID(field, v)
}

// checkID accepts 1..MaxIDBytes of [A-Za-z0-9._:-]: enough for UUIDs, ULIDs
// and prefixed ids, and safe in logs and URLs.
func checkID(field, v string) *Error {
	if len(v) > MaxIDBytes {
		return fieldError(CodeTooLarge, field, field+" is too long")
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return fieldError(CodeInvalidField, field, field+" may contain only letters, digits and - _ . :")
		}
	}
	return nil
}

func checkShortText(field, v string, max int) *Error {
	if len(v) > max {
		return fieldError(CodeTooLarge, field, field+" is too long")
	}
	if strings.ContainsRune(v, 0) {
		return fieldError(CodeInvalidField, field, field+" must not contain NUL")
	}
	return nil
}

// checkAttachments validates a send with files: its text may be blank.
func checkAttachments(f *ClientFrame, lim DecodeLimits) *Error {
	n := lim.MaxAttachments
	if n <= 0 {
		n = DefaultMaxAttachments
	}
	if len(f.Attachments) > n {
		return fieldError(CodeTooLarge, "attachments", "too many files in one message")
	}
	for i, id := range f.Attachments {
		if e := requireID("attachments", id); e != nil {
			return e
		}
		for _, other := range f.Attachments[:i] {
			if other == id {
				return fieldError(CodeInvalidField, "attachments", "a file is referenced twice")
			}
		}
	}
	if strings.TrimSpace(f.Text) == "" {
		return nil
	}
	return checkText(f.Text, lim.MaxTextBytes)
}

func checkText(text string, max int) *Error {
	if strings.TrimSpace(text) == "" {
		return fieldError(CodeInvalidField, "text", "text is required")
	}
	if max > 0 && len(text) > max {
		return fieldError(CodeTooLarge, "text", "text is too long")
	}
	if strings.ContainsRune(text, 0) {
		return fieldError(CodeInvalidField, "text", "text must not contain NUL")
	}
	return nil
}

func checkLimit(n int) *Error {
	if n < 0 || n > MaxPageLimit {
		return fieldError(CodeInvalidField, "limit", "limit must be between 0 and 200")
	}
	return nil
}

func checkMetadata(md map[string]string, lim DecodeLimits) *Error {
	maxKeys, maxValue := lim.MaxMetadataKeys, lim.MaxMetadataValueBytes
	if maxKeys == 0 {
		maxKeys = DefaultMaxMetadataKeys
	}
	if maxValue == 0 {
		maxValue = DefaultMaxMetadataValue
	}
	if len(md) > maxKeys {
		return fieldError(CodeTooLarge, "metadata", "too many metadata entries")
	}
	for k, v := range md {
		if len(k) > MaxMetadataKey {
			return fieldError(CodeTooLarge, "metadata", "a metadata key is too long")
		}
		if k == "" || strings.ContainsRune(k, 0) {
			return fieldError(CodeInvalidField, "metadata", "metadata keys must not be empty or contain NUL")
		}
		if len(v) > maxValue {
			return fieldError(CodeTooLarge, "metadata", "a metadata value is too long")
		}
		if strings.ContainsRune(v, 0) {
			return fieldError(CodeInvalidField, "metadata", "metadata values must not contain NUL")
		}
	}
	return nil
}
