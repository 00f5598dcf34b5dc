package protocol

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Encode returns the JSON encoding of a server frame. The frames sent for
// every message are encoded without reflection; the others with
// encoding/json.
func Encode(f *ServerFrame) ([]byte, error) {
	size := 192 + len(f.Text) // room for the rest of a plain frame
	if f.Message != nil {
		size += len(f.Message.Text)
	}
	if !plainFrame(f) {
		return json.Marshal(f)
	}
	return appendFrame(make([]byte, 0, size), f), nil
}

// AppendDelta appends the encoding of a reply.delta frame to dst. It is the
// hot path of streaming: it produces JSON equivalent to Encode's, without
// reflection and without allocating when dst has room.
//
// text may be a string or the bytes of one, so a caller that gathers text in
// a reused buffer need not copy it into a string first.
func AppendDelta[Text string | []byte](dst []byte, conversationID string, seq int64, replyID string, text Text) []byte {
	dst = append(dst, `{"type":"reply.delta","conversation_id":`...)
	dst = AppendString(dst, conversationID)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, `,"reply_id":`...)
	dst = AppendString(dst, replyID)
	dst = append(dst, `,"text":`...)
	dst = appendJSONString(dst, text)
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD;
// control characters, quotes, backslashes and the JavaScript line
// separators U+2028/U+2029 are escaped, so the output never contains a raw
// newline.
func AppendString(dst []byte, s string) []byte {
	return appendJSONString(dst, s)
}

func appendJSONString[S string | []byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// decodeRune decodes the rune at the start of s, a string or its bytes.
func decodeRune[S string | []byte](s S) (rune, int) {
	var b [utf8.UTFMax]byte
	n := copy(b[:], s)
	return utf8.DecodeRune(b[:n])
}
