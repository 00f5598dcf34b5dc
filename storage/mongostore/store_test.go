package mongostore_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/mongostore"
)

func TestNewReportsEveryInvalidOption(t *testing.T) {
	_, err := mongostore.New(t.Context(), nil,
		mongostore.WithDatabase(""),
		mongostore.WithCollections("same", "same"),
		mongostore.WithOperationTimeout(0),
		mongostore.WithMaxAttempts(0),
		mongostore.WithRetryInterval(time.Second, time.Millisecond),
		mongostore.WithRetentionTTL(time.Millisecond),
		mongostore.WithLogger(nil),
		nil,
	)
	if err == nil {
		t.Fatal("New accepted invalid options")
	}
	for _, want := range []string{"nil client", "WithDatabase", "WithCollections", "WithOperationTimeout", "WithMaxAttempts",
		"WithRetryInterval", "WithRetentionTTL", "WithLogger", "option 7 is nil"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}

// unreachable returns a client for an address nothing listens on.
func unreachable(t *testing.T) *mongo.Client {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := mongo.Connect(options.Client().ApplyURI("mongodb://" + addr + "/?connectTimeoutMS=200"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}

func TestUnreachableServerFailsWithinTheRetryBudget(t *testing.T) {
	c := unreachable(t)
	const op = 100 * time.Millisecond
	began := time.Now()
	_, err := mongostore.New(t.Context(), c, mongostore.WithOperationTimeout(op), mongostore.WithMaxAttempts(3),
		mongostore.WithRetryInterval(10*time.Millisecond, 20*time.Millisecond))
	elapsed := time.Since(began)
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("New on an unreachable server: %v, want storage.ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "3 attempts") {
		t.Errorf("error does not say how many attempts were made: %v", err)
	}
	if budget := 3*op + 2*20*time.Millisecond; elapsed > budget+300*time.Millisecond {
		t.Errorf("New gave up after %v, past its budget %v", elapsed, budget)
	}
}

func TestCallerContextBoundsTheRetries(t *testing.T) {
	c := unreachable(t)
	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := mongostore.New(ctx, c, mongostore.WithOperationTimeout(time.Second), mongostore.WithMaxAttempts(50),
		mongostore.WithRetryInterval(10*time.Millisecond, 50*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("New with a 150ms context: %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(began); d > 150*time.Millisecond+250*time.Millisecond {
		t.Errorf("New returned %v after its context ended", d-150*time.Millisecond)
	}
}

func TestStatisticsAreMaintainedAtomically(t *testing.T) {
	st, _ := newStore(t)
	ctx := t.Context()
	t0 := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.CreateConversation(ctx, storage.Conversation{ID: "c1", UserID: "alice", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	appendMsg := func(m storage.Message) {
		t.Helper()
		if _, _, err := st.AppendMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	finish := func(id string, created, done time.Time, in, out int64) {
		t.Helper()
		m := storage.Message{ID: id, ConversationID: "c1", Status: storage.MessageComplete, FinishReason: "stop",
			Usage: storage.Usage{InputTokens: in, OutputTokens: out}, UpdatedAt: done}
		for range 2 { // idempotent: the second update adds nothing
			if err := st.UpdateMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendMsg(storage.Message{ID: "q1", ConversationID: "c1", Role: storage.RoleUser, CreatedAt: t0.Add(time.Second)})
	appendMsg(storage.Message{ID: "q1", ConversationID: "c1", Role: storage.RoleUser, CreatedAt: t0.Add(time.Second)}) // retry
	appendMsg(storage.Message{ID: "r1", ConversationID: "c1", Role: storage.RoleAssistant, Status: storage.MessageStreaming, CreatedAt: t0.Add(2 * time.Second)})
	finish("r1", t0.Add(2*time.Second), t0.Add(2*time.Second+1500*time.Millisecond), 100, 40)
	appendMsg(storage.Message{ID: "r2", ConversationID: "c1", Role: storage.RoleAssistant, Status: storage.MessageStreaming, CreatedAt: t0.Add(5 * time.Second)})
	finish("r2", t0.Add(5*time.Second), t0.Add(5*time.Second+500*time.Millisecond), 200, 10)

	got, err := st.ConversationStats(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	want := mongostore.Stats{
		MessageCount: 3, Usage: storage.Usage{InputTokens: 300, OutputTokens: 50},
		Responses: 2, ResponseTimeTotal: 2 * time.Second, ResponseTimeMin: 500 * time.Millisecond, ResponseTimeMax: 1500 * time.Millisecond,
	}
	if got != want {
		t.Fatalf("stats:\n got %+v\nwant %+v", got, want)
	}

	// A correction of a finished reply's usage moves the totals by the difference.
	if err := st.UpdateMessage(ctx, storage.Message{ID: "r2", ConversationID: "c1", Status: storage.MessageComplete,
		Usage: storage.Usage{InputTokens: 250, OutputTokens: 10}, UpdatedAt: t0.Add(6 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	appendMsg(storage.Message{ID: "o1", ConversationID: "c1", Role: storage.RoleOperator, CreatedAt: t0.Add(7 * time.Second)})
	got, err = st.ConversationStats(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Usage.InputTokens != 350 || got.MessageCount != 4 || !got.OperatorAssisted || got.Responses != 2 {
		t.Errorf("after a correction and an operator message: %+v", got)
	}
	if _, err := st.ConversationStats(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("stats of an unknown conversation: %v, want ErrNotFound", err)
	}
}

func TestRetentionWorksWithAndWithoutTTLIndexes(t *testing.T) {
	st, db := newStore(t, mongostore.WithRetentionTTL(24*time.Hour))
	// FerretDB 1.x refuses TTL indexes; MongoDB accepts them. Either way
	// the store works.
	t.Logf("retention enforced by the server: %v", st.RetentionEnforced())
	c := storage.Conversation{ID: "c1", UserID: "alice", CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if err := st.CreateConversation(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetConversation(t.Context(), "c1"); err != nil {
		t.Fatal(err)
	}
	specs, err := db.Collection("messages").Indexes().ListSpecifications(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	hasTTL := false
	for _, s := range specs {
		if s.ExpireAfterSeconds != nil {
			hasTTL = true
		}
	}
	if hasTTL != st.RetentionEnforced() {
		t.Errorf("TTL index present: %v, but RetentionEnforced() = %v", hasTTL, st.RetentionEnforced())
	}
	plain, _ := newStore(t)
	if plain.RetentionEnforced() {
		t.Error("RetentionEnforced() without WithRetentionTTL")
	}
}
