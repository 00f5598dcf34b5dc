package mongostore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatboxsdk/chatbox/storage"
)

// Budget reservations: a compare-and-set on the user's document (see
// usage.go for the design).

// maxReserveRaces bounds how many times a reservation starts over after
// another write to the user's document came between its read and its
// write; racing reservations of one user each win one round, so it
// allows that many at once.
const maxReserveRaces = 100

// reserveOutcome is what one attempt of a reservation came to.
type reserveOutcome int

const (
	reserveRefused reserveOutcome = iota
	reserveGranted
	reserveRaced // the user document changed between the read and the write
)

// ReserveUsage implements storage.UsageStore with a compare-and-set on
// the user document; see the comment at the top of this file. The
// store's clock is the process's.
func (s *Store) ReserveUsage(ctx context.Context, r storage.Reservation) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("mongostore: reserve usage: %w", err)
	}
	if err := r.Validate(); err != nil {
		return false, fmt.Errorf("mongostore: %w", err)
	}
	limits := make([]storage.UsageLimit, len(r.Limits))
	var from, before time.Time // the days any limit counts
	for i, l := range r.Limits {
		l.From, l.Before = storage.UsagePeriod(l.From, l.Before)
		limits[i] = l
		if i == 0 || l.From.IsZero() || (!from.IsZero() && l.From.Before(from)) {
			from = l.From
		}
		if i == 0 || l.Before.IsZero() || (!before.IsZero() && l.Before.After(before)) {
			before = l.Before
		}
	}
	backoff := time.Millisecond
	for race := 1; ; race++ {
		var outcome reserveOutcome
		err := s.do(ctx, "reserve usage", func(ctx context.Context) (err error) {
			outcome, err = s.tryReserve(ctx, r, limits, from, before)
			return err
		})
		if err != nil {
			return false, err
		}
		if outcome != reserveRaced {
			return outcome == reserveGranted, nil
		}
		if race == maxReserveRaces {
			return false, fmt.Errorf("mongostore: reserve usage for user %q: the user's usage changed under %d attempts in a row: %w",
				r.UserID, race, storage.ErrUnavailable)
		}
		t := time.NewTimer(rand.N(backoff + 1))
		select {
		case <-ctx.Done():
			t.Stop()
			return false, fmt.Errorf("mongostore: reserve usage: %w", ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}

// tryReserve is one attempt of ReserveUsage, over the days [from, before)
// that its limits count.
func (s *Store) tryReserve(ctx context.Context, r storage.Reservation, limits []storage.UsageLimit, from, before time.Time) (reserveOutcome, error) {
	d, exists, err := s.settledUserDoc(ctx, r.UserID)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	live := make(bson.D, 0, len(d.Holds)+1)
	var heldTokens, heldCost int64
	for k, h := range d.Holds {
		if !now.Before(h.ExpiresAt.Time()) {
			continue
		}
		if h.ID == r.ID {
			return reserveGranted, nil
		}
		live = append(live, bson.E{Key: k, Value: h})
		heldTokens += h.Tokens
		heldCost += h.CostMicros
	}
	if len(limits) > 0 {
		rows, err := s.userRows(ctx, r.UserID, from, before)
		if err != nil {
			return 0, err
		}
		for _, l := range limits {
			var tokens, cost int64
			for _, row := range rows {
				day := row.Day.Time()
				if (l.From.IsZero() || !day.Before(l.From)) && (l.Before.IsZero() || day.Before(l.Before)) {
					tokens += row.InputTokens + row.OutputTokens
					cost += row.CostMicros
				}
			}
			if !l.Allows(tokens+heldTokens+r.Tokens, cost+heldCost+r.CostMicros) {
				return reserveRefused, nil
			}
		}
	}
	if now.Before(r.ExpiresAt) {
		live = append(live, bson.E{Key: fieldKey(r.ID), Value: holdDoc{ID: r.ID, Tokens: r.Tokens,
			CostMicros: r.CostMicros, ExpiresAt: date(r.ExpiresAt)}})
	}
	// Expired holds are dropped by the same write.
	res, err := s.usageUsers.UpdateOne(ctx,
		bson.D{{Key: fID, Value: r.UserID}, {Key: fVersion, Value: d.Version}},
		bson.D{
			{Key: "$set", Value: bson.D{{Key: fHolds, Value: live}}},
			{Key: "$inc", Value: bson.D{{Key: fVersion, Value: int64(1)}}},
		},
		options.UpdateOne().SetUpsert(!exists))
	switch {
	case mongo.IsDuplicateKeyError(err):
		return reserveRaced, nil // created by another writer since the read
	case err != nil:
		return 0, err
	case res.MatchedCount == 0 && res.UpsertedCount == 0:
		return reserveRaced, nil
	}
	return reserveGranted, nil
}

// ReleaseReservation implements storage.UsageStore: one update that
// removes the hold and increments the user's version, so a reservation
// that read the hold cannot write it back.
func (s *Store) ReleaseReservation(ctx context.Context, userID, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mongostore: release reservation: %w", err)
	}
	if userID == "" || id == "" {
		return fmt.Errorf("mongostore: release reservation %q of user %q: empty id: %w", id, userID, storage.ErrInvalid)
	}
	return s.do(ctx, "release reservation", func(ctx context.Context) error {
		_, err := s.usageUsers.UpdateOne(ctx, bson.D{{Key: fID, Value: userID}}, bson.D{
			{Key: "$unset", Value: bson.D{{Key: fHolds + "." + fieldKey(id), Value: ""}}},
			{Key: "$inc", Value: bson.D{{Key: fVersion, Value: int64(1)}}},
		})
		return err
	})
}
