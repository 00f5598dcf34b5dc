package storage

import (
	"context"
	"time"
)

// UsageRecord is the usage of one reply, recorded when it ends.
type UsageRecord struct {
	// ID is the reply's id: recording an ID already recorded changes
	// nothing (a retried write never counts twice).
	ID             string
	UserID         string
	Model          string
	ConversationID string
	// At is when the reply ended; the record adds to the row of its UTC
	// day.
	At                time.Time
	InputTokens       int64
	OutputTokens      int64
	CachedInputTokens int64
	ReasoningTokens   int64
	// CostMicros is the reply's cost in millionths of the price table's
	// currency unit; 0 without a price for its model.
	CostMicros int64
	// Estimated: the provider reported no usage, so the tokens are the
	// server's estimate.
	Estimated bool
}

// UsageRow is the usage of one user with one model on one UTC day.
type UsageRow struct {
	UserID string
	Model  string
	// Day is midnight UTC of the day.
	Day               time.Time
	Replies           int64
	EstimatedReplies  int64 // replies counted with estimated tokens
	InputTokens       int64
	OutputTokens      int64
	CachedInputTokens int64
	ReasoningTokens   int64
	CostMicros        int64
}

// UsageQuery selects usage rows: every filter left empty matches all.
// Rows are ordered by Day, newest first, then UserID, then Model.
type UsageQuery struct {
	UserID string
	Model  string
	// From and Before bound Day to [From, Before); a zero bound is open.
	// Both are truncated to their UTC day.
	From   time.Time
	Before time.Time
	Limit  int // 0 means DefaultPageSize; clamped to MaxPageSize
	// Cursor continues a listing made with the same filters.
	Cursor string
}

// UsagePage is one page of usage rows.
type UsagePage struct {
	Rows       []UsageRow
	NextCursor string
}

// UsageTotals sums usage over a period.
type UsageTotals struct {
	Replies           int64
	EstimatedReplies  int64
	InputTokens       int64
	OutputTokens      int64
	CachedInputTokens int64
	ReasoningTokens   int64
	CostMicros        int64
}

// Tokens is what a token budget counts: input plus output tokens.
func (t UsageTotals) Tokens() int64 { return t.InputTokens + t.OutputTokens }

// UsageLimit bounds a user's usage in the period [From, Before): recorded
// usage plus live reservations. A zero Max is no limit.
type UsageLimit struct {
	From, Before  time.Time
	MaxTokens     int64
	MaxCostMicros int64
}

// Reservation holds part of a user's budget for a reply that is about to
// run, so that replies started at once cannot together spend more than
// the budget: each reserves its most, then records what it spent and
// releases the reservation.
type Reservation struct {
	ID         string // the reply's id
	UserID     string
	Tokens     int64
	CostMicros int64
	// ExpiresAt ends the reservation by itself, should its instance stop
	// before releasing it.
	ExpiresAt time.Time
	// Limits must all hold with this reservation added, counting the
	// usage recorded in each limit's period and the user's other live
	// reservations.
	Limits []UsageLimit
}

// UsageStore keeps usage per user, model and day, and budget
// reservations. Every store of this module implements it; the Server
// needs it to record usage and enforce budgets. Methods are safe for
// concurrent use from several processes sharing the backend.
type UsageStore interface {
	// RecordUsage adds r to its user's, model's and day's row. ID, UserID,
	// Model and At are required (ErrInvalid). Recording an ID again is a
	// no-op returning nil.
	RecordUsage(ctx context.Context, r UsageRecord) error

	// ListUsage returns a page of usage rows.
	ListUsage(ctx context.Context, q UsageQuery) (UsagePage, error)

	// SumUsage totals a user's recorded usage, every model, on the UTC
	// days of [from, before).
	SumUsage(ctx context.Context, userID string, from, before time.Time) (UsageTotals, error)

	// ReserveUsage adds r if every one of its limits holds with it, and
	// reports whether it did; the check and the addition are atomic
	// across every process using the backend. Reserving an ID already
	// held is granted again without counting twice. ID, UserID and
	// ExpiresAt are required (ErrInvalid).
	ReserveUsage(ctx context.Context, r Reservation) (granted bool, err error)

	// ReleaseReservation ends a reservation; releasing one that does not
	// exist (any more) is a no-op returning nil.
	ReleaseReservation(ctx context.Context, userID, id string) error
}
