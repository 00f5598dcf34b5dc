package storage

import (
	"fmt"
	"time"
)

// Mode says who answers a conversation's user.
//
// The modes form a small state machine: ModeAI → ModeWaiting (the user asked
// for a person) → ModeOperator (an operator took it over) → ModeAI (the
// operator released it). An operator may also take over straight from
// ModeAI. Every change goes through Store.ChangeMode, which is atomic, so
// two operators can never both hold a conversation, even when they reach it
// through different server instances.
type Mode string

const (
	// ModeAI: the model answers. Conversations stored with an empty mode
	// are in this mode.
	ModeAI Mode = "ai"
	// ModeWaiting: the user asked for a person. The model still answers
	// until an operator takes over, so the user is never left alone.
	ModeWaiting Mode = "waiting"
	// ModeOperator: an operator holds the conversation; the model does not
	// answer.
	ModeOperator Mode = "operator"
)

// Normalize returns ModeAI for the empty mode and m otherwise.
func (m Mode) Normalize() Mode {
	if m == "" {
		return ModeAI
	}
	return m
}

// Valid reports whether m is one of the three modes (empty counts as ModeAI).
func (m Mode) Valid() bool {
	switch m.Normalize() {
	case ModeAI, ModeWaiting, ModeOperator:
		return true
	}
	return false
}

// ModeChange is one atomic transition of a conversation's mode.
//
// It applies only if the stored mode (empty read as ModeAI) is one of From
// and, when the stored mode is ModeOperator, the stored Operator equals
// Operator: an operator can release or re-take only what they hold.
// Applied, it sets Mode to To, Operator to Operator when To is ModeOperator
// (empty otherwise) and ModeChangedAt to At, and ChangeMode reports
// changed. When the mode and holder are already as asked (a retry, or the
// same change made by a concurrent call), nothing is written, the call
// succeeds and changed is false: of several identical calls exactly one
// reports the change, so its effects (an audit entry, a notification) are
// not repeated.
//
// ChangeMode returns the conversation as stored after the call. When the
// change does not apply, nothing is written and the error wraps
// ErrConflict; the returned conversation is then the stored one, so the
// caller can tell who holds it. Ended conversations give ErrConflict;
// unknown ids ErrNotFound; an empty ConversationID or From, an invalid
// mode, a zero At, or To == ModeOperator without Operator give ErrInvalid.
type ModeChange struct {
	ConversationID string
	From           []Mode
	To             Mode
	Operator       string
	// OperatorName is the holder's display name, stored with Operator
	// when To is ModeOperator (cleared otherwise); at most
	// MaxOperatorNameBytes. It does not take part in the rule.
	OperatorName string
	At           time.Time
}

// MaxOperatorNameBytes caps ModeChange.OperatorName; longer names give
// ErrInvalid.
const MaxOperatorNameBytes = 64

// ConversationStats are a conversation's aggregates. Stores keep them as
// fixed-size figures updated by AppendMessage and UpdateMessage, never
// recomputed from the messages.
type ConversationStats struct {
	// MessageCount counts the messages created in the conversation, every
	// role included.
	MessageCount int64
	// OperatorAssisted is true once an operator message was appended.
	OperatorAssisted bool
	// Usage sums the Usage of the conversation's messages as stored: the
	// usage given to AppendMessage, then each UpdateMessage's difference
	// from the stored value, whatever the role.
	Usage Usage
	// Responses counts replies that went from streaming (or
	// awaiting_approval) to complete; a reply that pauses for approval
	// and resumes counts once, when it completes. A reply's response time
	// runs from its CreatedAt to the UpdatedAt of the update that
	// completed it, waiting for approval included.
	Responses         int64
	ResponseTimeTotal time.Duration
	ResponseTimeMin   time.Duration
	ResponseTimeMax   time.Duration
}

// AuditAction names what an audit entry records.
type AuditAction string

// Audit actions.
const (
	AuditTakeover    AuditAction = "takeover"     // an operator took a conversation over
	AuditRelease     AuditAction = "release"      // an operator handed it back to the model
	AuditEnd         AuditAction = "end"          // an operator ended it
	AuditHelpRequest AuditAction = "help_request" // its user asked for a person
	AuditEraseFiles  AuditAction = "erase_files"  // an operator deleted a user's files (Detail names the user)
)

// MaxAuditDetailBytes caps AuditEntry.Detail; longer details give
// ErrInvalid.
const MaxAuditDetailBytes = 1024

// AuditEntry is one record of the audit log.
type AuditEntry struct {
	ID             string // unique; chosen by the writer so retries are no-ops
	At             time.Time
	Actor          string // user id of who acted
	Action         AuditAction
	ConversationID string
	Detail         string // short free text, at most MaxAuditDetailBytes
}

// AuditQuery selects a page of the audit log, newest first by (At, ID).
// Zero-valued filters match everything.
type AuditQuery struct {
	ConversationID string
	Actor          string
	Action         AuditAction
	From           time.Time // At ≥ From
	Before         time.Time // At < Before
	Limit          int       // 0 means DefaultPageSize; clamped to MaxPageSize
	Cursor         string    // from a previous page with the same filters
}

// AuditPage is one page of audit entries.
type AuditPage struct {
	Entries    []AuditEntry
	NextCursor string
}

// AggregateQuery bounds the figures of Aggregate to [From, Before); a zero
// bound is open.
type AggregateQuery struct {
	From   time.Time
	Before time.Time
}

// Aggregate holds the figures of a time range.
type Aggregate struct {
	// Conversations created in the range.
	Conversations int64
	// OperatorAssisted counts those of them an operator wrote in.
	OperatorAssisted int64
	// Messages created in the range, every role included.
	Messages int64
	// Usage sums the usage of the replies created in the range.
	Usage Usage
	// Responses counts the replies created in the range that completed;
	// the percentiles are over their response times (see
	// ConversationStats), by the nearest-rank method (PercentileRank);
	// zero when Responses is zero.
	Responses       int64
	ResponseTimeP50 time.Duration
	ResponseTimeP90 time.Duration
	ResponseTimeP99 time.Duration
	// HelpRequests counts the AuditHelpRequest entries in the range.
	HelpRequests int64
}

// PercentileRank returns the 1-based rank, in ascending order, of the p-th
// percentile of n values by the nearest-rank method: ⌈p·n/100⌉, at least 1.
// It returns 0 when n is 0; p is clamped to [0, 100]. Every Store computes
// Aggregate's percentiles with it, so they agree exactly.
func PercentileRank(n int64, p int) int64 {
	if n <= 0 {
		return 0
	}
	p = min(max(p, 0), 100)
	r := (int64(p)*n + 99) / 100
	return max(r, 1)
}

// Validate checks c as every Store must before applying it, and returns its
// From modes normalized. Problems wrap ErrInvalid.
func (c ModeChange) Validate() ([]Mode, error) {
	switch {
	case c.ConversationID == "":
		return nil, fmt.Errorf("empty conversation id: %w", ErrInvalid)
	case len(c.From) == 0:
		return nil, fmt.Errorf("no From mode: %w", ErrInvalid)
	case !c.To.Valid():
		return nil, fmt.Errorf("unknown mode %q: %w", c.To, ErrInvalid)
	case c.At.IsZero():
		return nil, fmt.Errorf("zero At: %w", ErrInvalid)
	case c.To.Normalize() == ModeOperator && c.Operator == "":
		return nil, fmt.Errorf("operator mode without an operator: %w", ErrInvalid)
	case len(c.OperatorName) > MaxOperatorNameBytes:
		return nil, fmt.Errorf("operator name of %d bytes, more than %d: %w", len(c.OperatorName), MaxOperatorNameBytes, ErrInvalid)
	}
	from := make([]Mode, len(c.From))
	for i, m := range c.From {
		if !m.Valid() {
			return nil, fmt.Errorf("unknown mode %q: %w", m, ErrInvalid)
		}
		from[i] = m.Normalize()
	}
	return from, nil
}

// Validate checks e as every Store must before appending it: ID, Action,
// Actor and At are required and Detail is at most MaxAuditDetailBytes.
// Problems wrap ErrInvalid.
func (e AuditEntry) Validate() error {
	var missing []string
	for _, f := range []struct {
		name  string
		empty bool
	}{{"ID", e.ID == ""}, {"Action", e.Action == ""}, {"Actor", e.Actor == ""}, {"At", e.At.IsZero()}} {
		if f.empty {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("entry %q without %v: %w", e.ID, missing, ErrInvalid)
	}
	if len(e.Detail) > MaxAuditDetailBytes {
		return fmt.Errorf("entry %q: detail of %d bytes, more than %d: %w", e.ID, len(e.Detail), MaxAuditDetailBytes, ErrInvalid)
	}
	return nil
}
