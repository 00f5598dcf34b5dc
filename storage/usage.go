package storage

import (
	"context"
	"fmt"
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
//
// A period is made of whole UTC days: From and Before are truncated to
// their UTC day (UsageDay), so a From at 15:00 counts its whole day and a
// Before at 15:00 none of its day. The usage counted is that of the rows
// of those days, every model. A zero From or Before leaves that side of
// the period open; a period whose From is not before its Before holds no
// day. A user's live reservations count in every limit, whatever its
// period, and so does the reservation asked for.
//
// MaxTokens bounds tokens as UsageTotals.Tokens counts them (input plus
// output tokens), of recorded usage and reservations alike;
// MaxCostMicros bounds CostMicros. Negative maxima are invalid.
type UsageLimit struct {
	From, Before  time.Time
	MaxTokens     int64
	MaxCostMicros int64
}

// Reservation holds part of a user's budget for a reply that is about to
// run, so that replies started at once cannot together spend more than
// the budget: each reserves its most, then records what it spent and
// releases the reservation.
//
// A reservation is live from its grant until it is released or the
// store's clock reaches ExpiresAt; only live reservations count. Tokens
// counts as UsageTotals.Tokens does (input plus output tokens). Reserving
// an ID whose reservation expired reserves it anew.
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
	// Model and At are required and counts must not be negative
	// (ErrInvalid). Recording an ID again is a no-op returning nil, even
	// with other fields: the record stored first is the one counted.
	RecordUsage(ctx context.Context, r UsageRecord) error

	// ListUsage returns a page of usage rows. A cursor that this listing
	// did not issue gives ErrInvalid.
	ListUsage(ctx context.Context, q UsageQuery) (UsagePage, error)

	// SumUsage totals a user's recorded usage, every model, on the UTC
	// days of [from, before): both are truncated to their UTC day, and a
	// zero bound is open. An empty userID gives ErrInvalid.
	SumUsage(ctx context.Context, userID string, from, before time.Time) (UsageTotals, error)

	// ReserveUsage adds r if every one of its limits holds with it, and
	// reports whether it did; the check and the addition are atomic
	// across every process using the backend. Reserving an ID already
	// held is granted again without counting twice (the held reservation
	// is kept as it is); a refused reservation holds nothing. ID, UserID
	// and ExpiresAt are required and amounts and maxima must not be
	// negative (ErrInvalid).
	ReserveUsage(ctx context.Context, r Reservation) (granted bool, err error)

	// ReleaseReservation ends a reservation; releasing one that does not
	// exist (any more) is a no-op returning nil. An empty userID or id
	// gives ErrInvalid.
	ReleaseReservation(ctx context.Context, userID, id string) error
}

// UsageDay returns midnight UTC of t's UTC day: the Day of the row a
// record made at t adds to, and what the bounds of a UsageQuery or a
// UsageLimit are truncated to.
func UsageDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Validate checks r as every UsageStore does before recording it: ID,
// UserID, Model and At are required and no count is negative. Problems
// wrap ErrInvalid.
func (r UsageRecord) Validate() error {
	var missing []string
	for _, f := range []struct {
		name  string
		empty bool
	}{{"ID", r.ID == ""}, {"UserID", r.UserID == ""}, {"Model", r.Model == ""}, {"At", r.At.IsZero()}} {
		if f.empty {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("usage record %q without %v: %w", r.ID, missing, ErrInvalid)
	}
	if r.InputTokens < 0 || r.OutputTokens < 0 || r.CachedInputTokens < 0 || r.ReasoningTokens < 0 || r.CostMicros < 0 {
		return fmt.Errorf("usage record %q with a negative count: %w", r.ID, ErrInvalid)
	}
	return nil
}

// Validate checks r as every UsageStore does before reserving it: ID,
// UserID and ExpiresAt are required, and neither its amounts nor the
// maxima of its limits are negative. Problems wrap ErrInvalid.
func (r Reservation) Validate() error {
	var missing []string
	for _, f := range []struct {
		name  string
		empty bool
	}{{"ID", r.ID == ""}, {"UserID", r.UserID == ""}, {"ExpiresAt", r.ExpiresAt.IsZero()}} {
		if f.empty {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("reservation %q without %v: %w", r.ID, missing, ErrInvalid)
	}
	if r.Tokens < 0 || r.CostMicros < 0 {
		return fmt.Errorf("reservation %q with a negative amount: %w", r.ID, ErrInvalid)
	}
	for i, l := range r.Limits {
		if l.MaxTokens < 0 || l.MaxCostMicros < 0 {
			return fmt.Errorf("reservation %q: limit %d has a negative maximum: %w", r.ID, i, ErrInvalid)
		}
	}
	return nil
}

// Allows reports whether tokens and costMicros, everything counted in
// l's period with the reservation asked for, stay within l's maxima (a
// zero maximum is no limit).
func (l UsageLimit) Allows(tokens, costMicros int64) bool {
	return (l.MaxTokens == 0 || tokens <= l.MaxTokens) && (l.MaxCostMicros == 0 || costMicros <= l.MaxCostMicros)
}

// UsagePeriod returns the UTC days of [from, before) as every UsageStore
// reads a period: each bound truncated with UsageDay, a zero bound left
// zero (open).
func UsagePeriod(from, before time.Time) (time.Time, time.Time) {
	if !from.IsZero() {
		from = UsageDay(from)
	}
	if !before.IsZero() {
		before = UsageDay(before)
	}
	return from, before
}
