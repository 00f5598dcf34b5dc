package mongostore

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatboxsdk/chatbox/storage"
)

// usageTestStore returns a Store on a database of its own, dropped when t
// ends, or skips without a test server.
func usageTestStore(t *testing.T) *Store {
	t.Helper()
	uri := os.Getenv("CHATBOX_TEST_MONGODB_URI")
	if uri == "" {
		t.Skip("set CHATBOX_TEST_MONGODB_URI (scripts/ferretdb.sh does) to run against a server")
	}
	client, err := mongo.Connect(options.Client().ApplyURI(uri).SetTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	db := fmt.Sprintf("chatbox_usage_%d", time.Now().UnixNano())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := client.Database(db).Drop(ctx); err != nil {
			t.Errorf("drop %s: %v", db, err)
		}
		if err := client.Disconnect(ctx); err != nil {
			t.Errorf("disconnect: %v", err)
		}
	})
	st, err := New(t.Context(), client, WithDatabase(db), WithOperationTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestRecordStoppedAtAnyStepCountsOnce stops a record after each of its
// steps, as a process that died there would, and checks that the reply
// is counted exactly once: by the next SumUsage, ReserveUsage or retried
// RecordUsage, whichever comes first, and never again by the others, nor
// by a caller that read the pending entry and runs its steps late.
func TestRecordStoppedAtAnyStepCountsOnce(t *testing.T) {
	day := time.Date(2031, 3, 4, 0, 0, 0, 0, time.UTC)
	r := storage.UsageRecord{ID: "reply-1", UserID: "alice", Model: "model-a", At: day.Add(time.Hour),
		InputTokens: 60, OutputTokens: 20, CachedInputTokens: 5, ReasoningTokens: 3, CostMicros: 700}
	rec := toUsageReplyDoc(r)
	steps := []struct {
		name string
		run  func(ctx context.Context, s *Store) error
	}{
		{"pending", func(ctx context.Context, s *Store) error { return s.addPending(ctx, rec) }},
		{"reply inserted", func(ctx context.Context, s *Store) error {
			_, err := s.usageReplies.InsertOne(ctx, rec)
			return err
		}},
		{"row counted", func(ctx context.Context, s *Store) error { return s.countInRow(ctx, rec) }},
	}
	finishers := []struct {
		name string
		run  func(t *testing.T, s *Store)
	}{
		{"SumUsage", func(t *testing.T, s *Store) {
			if _, err := s.SumUsage(t.Context(), "alice", day, day.AddDate(0, 0, 1)); err != nil {
				t.Fatal(err)
			}
		}},
		{"ReserveUsage", func(t *testing.T, s *Store) {
			// 80 tokens are recorded: 21 more do not fit in 100.
			granted, err := s.ReserveUsage(t.Context(), storage.Reservation{ID: "res", UserID: "alice", Tokens: 21,
				ExpiresAt: time.Now().Add(time.Hour), Limits: []storage.UsageLimit{{From: day, Before: day.AddDate(0, 0, 1), MaxTokens: 100}}})
			if err != nil || granted {
				t.Fatalf("ReserveUsage of 21 over 80 recorded of 100 = %v, %v; want refused", granted, err)
			}
		}},
		{"RecordUsage", func(t *testing.T, s *Store) {
			if err := s.RecordUsage(t.Context(), r); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for n := 1; n <= len(steps); n++ {
		for _, f := range finishers {
			t.Run(fmt.Sprintf("StoppedAfter%dSteps/%s", n, f.name), func(t *testing.T) {
				s := usageTestStore(t)
				for _, step := range steps[:n] {
					if err := step.run(t.Context(), s); err != nil {
						t.Fatalf("%s: %v", step.name, err)
					}
				}
				f.run(t, s)
				wantCountedOnce(t, s, r)
				// The other finishers, and a late caller of the steps that
				// read the pending entry before it went, count nothing more.
				for _, g := range finishers {
					g.run(t, s)
				}
				if err := s.countReply(t.Context(), rec); err != nil {
					t.Fatal(err)
				}
				// Once the reply is stored, a record of its id with other
				// figures changes nothing either.
				other := r
				other.InputTokens, other.At = 1000, r.At.AddDate(0, 0, 1)
				if err := s.RecordUsage(t.Context(), other); err != nil {
					t.Fatal(err)
				}
				wantCountedOnce(t, s, r)
			})
		}
	}
}

// wantCountedOnce checks that r is counted once in its row and in its
// user's sums, and pending nowhere.
func wantCountedOnce(t *testing.T, s *Store, r storage.UsageRecord) {
	t.Helper()
	page, err := s.ListUsage(t.Context(), storage.UsageQuery{UserID: r.UserID})
	want := storage.UsageRow{UserID: r.UserID, Model: r.Model, Day: storage.UsageDay(r.At), Replies: 1,
		InputTokens: r.InputTokens, OutputTokens: r.OutputTokens, CachedInputTokens: r.CachedInputTokens,
		ReasoningTokens: r.ReasoningTokens, CostMicros: r.CostMicros}
	if err != nil || len(page.Rows) != 1 || page.Rows[0] != want {
		t.Fatalf("rows = %+v, %v; want %+v", page.Rows, err, want)
	}
	d, _, err := s.userDoc(t.Context(), r.UserID)
	if err != nil || len(d.Pending) != 0 {
		t.Fatalf("user document = %+v, %v; want nothing pending", d, err)
	}
	var raw bson.M
	if err := s.usageRows.FindOne(t.Context(), bson.D{{Key: fID, Value: rowKey(r.UserID, r.Model, date(storage.UsageDay(r.At)))}}).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	if ids, ok := raw[fCounted].(bson.A); !ok || len(ids) != 1 || ids[0] != r.ID {
		t.Fatalf("row document counts %v, want [%s]", raw[fCounted], r.ID)
	}
}
