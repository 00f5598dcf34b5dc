package metrics

import (
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/chatboxsdk/chatbox/protocol"
)

// Label values substituted for values that cannot be used as they are.
const (
	// OtherLabel replaces a value first seen after its label reached its cap
	// of distinct values, or outside a fixed set.
	OtherLabel = "other"
	// UnknownLabel replaces an empty value.
	UnknownLabel = "unknown"
)

// MaxModelValues caps the distinct values of the model label; models first
// seen after it are counted as OtherLabel. The other open-ended labels are
// capped at 20 distinct values (finish reasons, error kinds, limits,
// takeover actions) and 32 (store operations), and every value is cut to 64
// bytes, so no caller can grow the number of series without bound.
const MaxModelValues = 50

const (
	maxSmallValues     = 20 // finish reasons, error kinds, limits, takeover actions
	maxOpValues        = 32 // store operations
	maxLabelValueBytes = 64
)

// labelSet admits at most limit distinct values of one label and maps every
// later newcomer to OtherLabel. It is safe for concurrent use.
type labelSet struct {
	limit int
	mu    sync.RWMutex
	seen  map[string]struct{}
}

func newLabelSet(limit int) *labelSet {
	return &labelSet{limit: limit, seen: make(map[string]struct{}, limit)}
}

// value returns the label value to use for v.
func (s *labelSet) value(v string) string {
	v = clean(v)
	s.mu.RLock()
	_, ok := s.seen[v]
	s.mu.RUnlock()
	if ok {
		return v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[v]; ok {
		return v
	}
	if len(s.seen) >= s.limit {
		return OtherLabel
	}
	s.seen[v] = struct{}{}
	return v
}

// clean makes v a label value Prometheus accepts (valid UTF-8) of bounded
// length; empty becomes UnknownLabel.
func clean(v string) string {
	if v == "" {
		return UnknownLabel
	}
	v = strings.ToValidUTF8(v, "\uFFFD")
	if len(v) > maxLabelValueBytes {
		n := maxLabelValueBytes
		for n > 0 && !utf8.RuneStart(v[n]) {
			n--
		}
		v = v[:n]
	}
	return v
}

// Close code classes, the values of the "class" label of socket closes.
const (
	CloseNormal       = "normal"
	CloseGoingAway    = "going_away"
	CloseSlowConsumer = "slow_consumer"
	CloseUnauthorized = "unauthorized"
	CloseProtocol     = "protocol"
	CloseOther        = "other"
)

var closeClasses = []string{CloseNormal, CloseGoingAway, CloseSlowConsumer, CloseUnauthorized, CloseProtocol, CloseOther}

// CloseClass maps a WebSocket close code to its class.
func CloseClass(code int) string {
	switch code {
	case protocol.CloseNormal:
		return CloseNormal
	case protocol.CloseGoingAway:
		return CloseGoingAway
	case protocol.CloseSlowConsumer:
		return CloseSlowConsumer
	case protocol.CloseUnauthorized:
		return CloseUnauthorized
	case protocol.CloseProtocolError, protocol.CloseMessageTooBig,
		1002, // protocol error (RFC 6455)
		1003, // unsupported data
		1007, // invalid payload data
		1008: // policy violation
		return CloseProtocol
	default:
		return CloseOther
	}
}

// roleValue maps a message author role to a label value: "user",
// "operator", or OtherLabel.
func roleValue(role string) string {
	switch role {
	case "user", "operator":
		return role
	default:
		return OtherLabel
	}
}
