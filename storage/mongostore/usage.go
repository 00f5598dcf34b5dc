package mongostore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatboxsdk/chatbox/storage"
)

// Usage lives in three collections (by default usage_rows, usage_replies
// and usage_users, see WithUsageCollections) and is written with
// single-document operations only: FerretDB and MongoDB servers without
// a replica set have no multi-document transactions.
//
// A row document holds the sums of one (user, model, UTC day) and, in
// the array "counted", the id of every reply counted in them. A reply
// document, keyed by the reply's id, is its record as first stored. A
// user document, keyed by the user id, holds a version counter "v", the
// user's reservations by id ("holds") and the records being counted
// ("pending"), each under a field name derived from its id (fieldKey).
//
// Recording a reply takes four steps:
//
//  1. $set the record into the user's pending map (upsert);
//  2. insert the reply document; a duplicate key means the id was
//     recorded before, and from then on the stored reply, not the
//     caller's, is the one counted, so every attempt counts the same
//     reply into the same row;
//  3. update its row with the condition that "counted" does not hold
//     its id: $inc the sums and $push the id, in one single-document
//     update (upsert). The condition and the effect are atomic, so the
//     reply is counted at most once whoever applies it, however often.
//     An upsert that finds the row without matching it fails with a
//     duplicate key: the row then holds the id (counted already) or was
//     just created by another reply (try again);
//  4. $unset the pending entry and $inc the user's version, in one
//     update.
//
// A crash, a lost answer or an error between the steps cannot count a
// reply twice: step 3 alone counts, and only once per id. Nor can it
// drop one: from step 1 on, the record stays in the user's pending map
// until step 4, which follows step 3; every later RecordUsage of the id,
// and every ReserveUsage and SumUsage of the user, first finishes the
// pending records it finds (steps 2 to 4, which any number of callers
// may run at once). A RecordUsage that failed before step 1 returned an
// error and wrote nothing. Until step 2 a retry's step 1 replaces the
// pending record, so the record stored is the last one written before
// it. The ids stay in "counted" for good: a caller that read a pending
// entry, then stalled past its removal, must still find its id there.
//
// A reservation is a compare-and-set on the user document: read it
// (version v, holds, pending), finish its pending records, read the
// user's rows of the limits' periods, and, if every limit allows the
// reservation, update the document only where its version is still v,
// setting the holds to the live ones plus the new one and incrementing
// v. A release ($unset of its hold) and the end of every record (step 4)
// increment v too, so another reservation, a release or a record that
// completes between the read and the write makes the write miss: the
// reservation then starts over, a bounded number of times
// (maxReserveRaces), with a short random backoff. (Releases must move
// the version also because the write sets the holds whole: it would
// otherwise put a released hold back.) A record whose step 3 falls
// between the read and the write and whose step 4 comes after it may or
// may not be in the rows the check read; it had not completed, so the
// reservation is ordered before it either way. The check therefore
// holds at the moment of the write, which is where the reservation
// takes effect: it is atomic across every process using the database.

// Fields of the usage documents.
const (
	fDay          = "day"
	fVersion      = "v"
	fHolds        = "holds"
	fPending      = "pending"
	fCounted      = "counted"
	fReplies      = "replies"
	fEstimated    = "estimated_replies"
	fCostMicros   = "cost_micros"
	fUsageExpires = "expires_at"
)

// usageRowDoc is a row document; Counted is left out of every read but
// the one that looks for an id in it.
type usageRowDoc struct {
	ID           string        `bson:"_id"`
	UserID       string        `bson:"user_id"`
	Model        string        `bson:"model"`
	Day          bson.DateTime `bson:"day"`
	Replies      int64         `bson:"replies"`
	Estimated    int64         `bson:"estimated_replies"`
	InputTokens  int64         `bson:"input_tokens"`
	OutputTokens int64         `bson:"output_tokens"`
	CachedTokens int64         `bson:"cached_input_tokens"`
	ReasonTokens int64         `bson:"reasoning_tokens"`
	CostMicros   int64         `bson:"cost_micros"`
	Counted      []string      `bson:"counted,omitempty"`
}

func (d usageRowDoc) row() storage.UsageRow {
	return storage.UsageRow{UserID: d.UserID, Model: d.Model, Day: d.Day.Time().UTC(), Replies: d.Replies,
		EstimatedReplies: d.Estimated, InputTokens: d.InputTokens, OutputTokens: d.OutputTokens,
		CachedInputTokens: d.CachedTokens, ReasoningTokens: d.ReasonTokens, CostMicros: d.CostMicros}
}

// usageReplyDoc is a reply document, and a pending entry.
type usageReplyDoc struct {
	ID             string        `bson:"_id"`
	UserID         string        `bson:"user_id"`
	Model          string        `bson:"model"`
	ConversationID string        `bson:"conversation_id,omitempty"`
	At             bson.DateTime `bson:"at"`
	Day            bson.DateTime `bson:"day"`
	Estimated      bool          `bson:"estimated,omitempty"`
	InputTokens    int64         `bson:"input_tokens"`
	OutputTokens   int64         `bson:"output_tokens"`
	CachedTokens   int64         `bson:"cached_input_tokens"`
	ReasonTokens   int64         `bson:"reasoning_tokens"`
	CostMicros     int64         `bson:"cost_micros"`
}

func toUsageReplyDoc(r storage.UsageRecord) usageReplyDoc {
	return usageReplyDoc{ID: r.ID, UserID: r.UserID, Model: r.Model, ConversationID: r.ConversationID,
		At: date(r.At), Day: date(storage.UsageDay(r.At)), Estimated: r.Estimated,
		InputTokens: r.InputTokens, OutputTokens: r.OutputTokens, CachedTokens: r.CachedInputTokens,
		ReasonTokens: r.ReasoningTokens, CostMicros: r.CostMicros}
}

// holdDoc is a live reservation in its user's document.
type holdDoc struct {
	ID         string        `bson:"id"`
	Tokens     int64         `bson:"tokens"`
	CostMicros int64         `bson:"cost_micros"`
	ExpiresAt  bson.DateTime `bson:"expires_at"`
}

// usageUserDoc is a user document.
type usageUserDoc struct {
	ID      string                   `bson:"_id"`
	Version int64                    `bson:"v"`
	Holds   map[string]holdDoc       `bson:"holds,omitempty"`
	Pending map[string]usageReplyDoc `bson:"pending,omitempty"`
}

// fieldKey returns the field name an id is stored under in a user
// document: "k" and the id in unpadded URL-safe base64, so no id meets
// the rules of field names ('.', a leading '$', digits read as array
// indexes).
func fieldKey(id string) string { return "k" + base64.RawURLEncoding.EncodeToString([]byte(id)) }

// rowKey returns the _id of the row of (user, model, day): the day, then
// the user id preceded by its length, then the model, so distinct rows
// never share a key whatever their ids hold.
func rowKey(user, model string, day bson.DateTime) string {
	return day.Time().UTC().Format("20060102") + "/" + strconv.Itoa(len(user)) + ":" + user + "/" + model
}

// RecordUsage implements storage.UsageStore; see the comment at the top
// of this file for its steps and why they count a reply exactly once.
func (s *Store) RecordUsage(ctx context.Context, r storage.UsageRecord) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mongostore: record usage: %w", err)
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("mongostore: %w", err)
	}
	rec := toUsageReplyDoc(r)
	return s.do(ctx, "record usage", func(ctx context.Context) error {
		if err := s.addPending(ctx, rec); err != nil {
			return err
		}
		return s.countReply(ctx, rec)
	})
}

// addPending writes rec into its user's pending records (step 1).
func (s *Store) addPending(ctx context.Context, rec usageReplyDoc) error {
	_, err := s.usageUsers.UpdateOne(ctx, bson.D{{Key: fID, Value: rec.UserID}}, bson.D{
		{Key: "$set", Value: bson.D{{Key: fPending + "." + fieldKey(rec.ID), Value: rec}}},
		{Key: "$setOnInsert", Value: bson.D{{Key: fVersion, Value: int64(0)}}},
	}, options.UpdateOne().SetUpsert(true))
	return err
}

// countReply runs steps 2 to 4 of recording rec, pending in its user's
// document: it may run any number of times, at once too.
func (s *Store) countReply(ctx context.Context, rec usageReplyDoc) error {
	stored := rec
	if _, err := s.usageReplies.InsertOne(ctx, rec); mongo.IsDuplicateKeyError(err) {
		if err := s.usageReplies.FindOne(ctx, bson.D{{Key: fID, Value: rec.ID}}).Decode(&stored); err != nil {
			return fmt.Errorf("read the stored reply %q: %w", rec.ID, err)
		}
	} else if err != nil {
		return err
	}
	if err := s.countInRow(ctx, stored); err != nil {
		return err
	}
	// The pending entry lives in the caller's user document, the row in
	// the stored reply's user; they differ only if one reply id was
	// recorded for two users. Both versions move.
	_, err := s.usageUsers.UpdateOne(ctx, bson.D{{Key: fID, Value: rec.UserID}}, bson.D{
		{Key: "$unset", Value: bson.D{{Key: fPending + "." + fieldKey(rec.ID), Value: ""}}},
		{Key: "$inc", Value: bson.D{{Key: fVersion, Value: int64(1)}}},
	})
	if err == nil && stored.UserID != rec.UserID {
		_, err = s.usageUsers.UpdateOne(ctx, bson.D{{Key: fID, Value: stored.UserID}},
			bson.D{{Key: "$inc", Value: bson.D{{Key: fVersion, Value: int64(1)}}}})
	}
	return err
}

// countInRow adds rec to its row unless the row counted it already (step
// 3).
func (s *Store) countInRow(ctx context.Context, rec usageReplyDoc) error {
	key := rowKey(rec.UserID, rec.Model, rec.Day)
	estimated := int64(0)
	if rec.Estimated {
		estimated = 1
	}
	filter := bson.D{{Key: fID, Value: key}, {Key: fCounted, Value: bson.D{{Key: "$ne", Value: rec.ID}}}}
	update := bson.D{
		{Key: "$inc", Value: bson.D{
			{Key: fReplies, Value: int64(1)}, {Key: fEstimated, Value: estimated},
			{Key: fInputTokens, Value: rec.InputTokens}, {Key: fOutputTokens, Value: rec.OutputTokens},
			{Key: fCachedTokens, Value: rec.CachedTokens}, {Key: fReasoningTokens, Value: rec.ReasonTokens},
			{Key: fCostMicros, Value: rec.CostMicros},
		}},
		{Key: "$push", Value: bson.D{{Key: fCounted, Value: rec.ID}}},
		{Key: "$setOnInsert", Value: bson.D{{Key: fUserID, Value: rec.UserID}, {Key: fModel, Value: rec.Model}, {Key: fDay, Value: rec.Day}}},
	}
	// Each miss is another reply creating the row at the same moment; the
	// row exists after it, so a second attempt settles it.
	for range 3 {
		_, err := s.usageRows.UpdateOne(ctx, filter, update, options.UpdateOne().SetUpsert(true))
		if !mongo.IsDuplicateKeyError(err) {
			return err
		}
		var row usageRowDoc
		if err := s.usageRows.FindOne(ctx, bson.D{{Key: fID, Value: key}}).Decode(&row); err != nil {
			return fmt.Errorf("read usage row %q: %w", key, err)
		}
		if slices.Contains(row.Counted, rec.ID) {
			return nil
		}
	}
	return fmt.Errorf("usage row %q: the upsert kept missing it", key)
}

// userDoc reads a user document, or an empty one if there is none.
func (s *Store) userDoc(ctx context.Context, userID string) (usageUserDoc, bool, error) {
	var d usageUserDoc
	err := s.usageUsers.FindOne(ctx, bson.D{{Key: fID, Value: userID}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return usageUserDoc{ID: userID}, false, nil
	}
	return d, err == nil, err
}

// settledUserDoc reads a user document after finishing the records
// pending in it, so that the user's rows count every record begun before.
func (s *Store) settledUserDoc(ctx context.Context, userID string) (usageUserDoc, bool, error) {
	for range 3 {
		d, exists, err := s.userDoc(ctx, userID)
		if err != nil || len(d.Pending) == 0 {
			return d, exists, err
		}
		for _, rec := range d.Pending {
			if err := s.countReply(ctx, rec); err != nil {
				return usageUserDoc{}, false, fmt.Errorf("finish the pending record %q: %w", rec.ID, err)
			}
		}
	}
	// Records keep arriving: those still pending began after this call.
	return s.userDoc(ctx, userID)
}

// userRows returns the figures of userID's rows on the days of [from,
// before), a zero bound open.
func (s *Store) userRows(ctx context.Context, userID string, from, before time.Time) ([]usageRowDoc, error) {
	filter := bson.D{{Key: fUserID, Value: userID}}
	if r := dateRange(from, before); r != nil {
		filter = append(filter, bson.E{Key: fDay, Value: r})
	}
	cur, err := s.usageRows.Find(ctx, filter, options.Find().SetProjection(bson.D{{Key: fCounted, Value: 0}}))
	if err != nil {
		return nil, err
	}
	var docs []usageRowDoc
	err = cur.All(ctx, &docs)
	return docs, err
}

// SumUsage implements storage.UsageStore: it finishes the user's pending
// records, then sums the user's rows of the period.
func (s *Store) SumUsage(ctx context.Context, userID string, from, before time.Time) (storage.UsageTotals, error) {
	if err := ctx.Err(); err != nil {
		return storage.UsageTotals{}, fmt.Errorf("mongostore: sum usage: %w", err)
	}
	if userID == "" {
		return storage.UsageTotals{}, fmt.Errorf("mongostore: sum usage: empty user id: %w", storage.ErrInvalid)
	}
	from, before = storage.UsagePeriod(from, before)
	var t storage.UsageTotals
	err := s.do(ctx, "sum usage", func(ctx context.Context) error {
		if _, _, err := s.settledUserDoc(ctx, userID); err != nil {
			return err
		}
		docs, err := s.userRows(ctx, userID, from, before)
		if err != nil {
			return err
		}
		t = storage.UsageTotals{}
		for _, d := range docs {
			t.Replies += d.Replies
			t.EstimatedReplies += d.Estimated
			t.InputTokens += d.InputTokens
			t.OutputTokens += d.OutputTokens
			t.CachedInputTokens += d.CachedTokens
			t.ReasoningTokens += d.ReasonTokens
			t.CostMicros += d.CostMicros
		}
		return nil
	})
	return t, err
}
