package mongostore_test

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
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
		mongostore.WithAuditCollection(""),
		mongostore.WithUsageCollections(""),
		mongostore.WithBlobCollections("b", "b"),
	)
	if err == nil {
		t.Fatal("New accepted invalid options")
	}
	for _, want := range []string{"nil client", "WithDatabase", "WithCollections", "WithOperationTimeout", "WithMaxAttempts",
		"WithRetryInterval", "WithRetentionTTL", "WithLogger", "option 7 is nil", "WithAuditCollection", "WithUsageCollections", "WithBlobCollections"} {
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

func TestAuditCollectionMustDifferFromTheOthers(t *testing.T) {
	_, err := mongostore.New(t.Context(), nil, mongostore.WithCollections("c", "m"), mongostore.WithAuditCollection("m"))
	if err == nil || !strings.Contains(err.Error(), `audit collection shares the name "m"`) {
		t.Errorf("New with the audit and messages collections sharing a name: %v", err)
	}
}

func TestUsageCollectionsMustDifferFromTheOthers(t *testing.T) {
	_, err := mongostore.New(t.Context(), nil, mongostore.WithCollections("c", "x_rows"), mongostore.WithUsageCollections("x"))
	if err == nil || !strings.Contains(err.Error(), `usage collection "x_rows" shares its name`) {
		t.Errorf("New with a usage collection named as the messages collection: %v", err)
	}
}

func TestBlobCollectionsMustDifferFromTheOthers(t *testing.T) {
	_, err := mongostore.New(t.Context(), nil, mongostore.WithBlobCollections("blobs", "audit"))
	if err == nil || !strings.Contains(err.Error(), `blob collection "audit" shares its name`) {
		t.Errorf("New with the chunk collection named as the audit collection: %v", err)
	}
	_, err = mongostore.New(t.Context(), nil, mongostore.WithBlobCollections("", "c"))
	if err == nil || !strings.Contains(err.Error(), "WithBlobCollections: empty") {
		t.Errorf("New with an empty blob collection name: %v", err)
	}
}

// A host restarting opens a Store on a database that already has its
// indexes (and data).
func TestNewOnAnExistingDatabase(t *testing.T) {
	first, db := newStore(t)
	c := storage.Conversation{ID: "c1", UserID: "alice", CreatedAt: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := first.CreateConversation(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	// One index is missing, as after an upgrade that added it.
	if err := db.Collection("conversations").Indexes().DropOne(t.Context(), "tokens"); err != nil {
		t.Fatal(err)
	}
	again, err := mongostore.New(t.Context(), client(t), mongostore.WithDatabase(db.Name()), mongostore.WithMaxAttempts(1))
	if err != nil {
		t.Fatalf("second New on one database: %v", err)
	}
	if _, err := again.GetConversation(t.Context(), "c1"); err != nil {
		t.Errorf("GetConversation through the second Store: %v", err)
	}
	specs, err := db.Collection("conversations").Indexes().ListSpecifications(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	names := make(map[string]bool)
	for _, s := range specs {
		names[s.Name] = true
	}
	if !names["tokens"] || !names["created"] {
		t.Errorf("indexes after the second New: %v, want the dropped one recreated", names)
	}
}

func TestStatisticsAreMaintainedAtomically(t *testing.T) {
	st, db := newStore(t)
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

	stats := func() storage.ConversationStats {
		t.Helper()
		c, err := st.GetConversation(ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		return c.Stats
	}
	got := stats()
	want := storage.ConversationStats{
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
	got = stats()
	if got.Usage.InputTokens != 350 || got.MessageCount != 4 || !got.OperatorAssisted || got.Responses != 2 {
		t.Errorf("after a correction and an operator message: %+v", got)
	}

	// The figures live in the documents: the tokens sort key is the sum,
	// and each completed reply holds its response time for Aggregate.
	var conv struct {
		TotalTokens int64 `bson:"total_tokens"`
	}
	if err := db.Collection("conversations").FindOne(ctx, bson.D{{Key: "_id", Value: "c1"}}).Decode(&conv); err != nil {
		t.Fatal(err)
	}
	if conv.TotalTokens != 350+50 {
		t.Errorf("total_tokens = %d, want %d", conv.TotalTokens, 400)
	}
	for id, want := range map[string]int64{"r1": 1500, "r2": 500} {
		var m struct {
			ResponseMS *int64 `bson:"response_ms"`
		}
		if err := db.Collection("messages").FindOne(ctx, bson.D{{Key: "conversation_id", Value: "c1"}, {Key: "id", Value: id}}).Decode(&m); err != nil {
			t.Fatal(err)
		}
		if m.ResponseMS == nil || *m.ResponseMS != want {
			t.Errorf("response_ms of %s = %v, want %d", id, m.ResponseMS, want)
		}
	}
}

// A conversation document without a mode field (written by another
// program, or before the field existed) reads, filters and changes as
// storage.ModeAI, like one whose mode is "".
func TestAbsentModeIsAI(t *testing.T) {
	st, db := newStore(t)
	ctx := t.Context()
	t0 := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.CreateConversation(ctx, storage.Conversation{ID: "empty", UserID: "alice", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	var raw bson.M
	if err := db.Collection("conversations").FindOne(ctx, bson.D{{Key: "_id", Value: "empty"}}).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	if mode, ok := raw["mode"]; !ok || mode != "" {
		t.Errorf("a new conversation's stored mode is %v (present %v), want \"\"", mode, ok)
	}
	if _, err := db.Collection("conversations").InsertOne(ctx, bson.D{
		{Key: "_id", Value: "absent"}, {Key: "user_id", Value: "alice"}, {Key: "status", Value: "active"},
		{Key: "created_at", Value: bson.NewDateTimeFromTime(t0.Add(time.Second))},
		{Key: "updated_at", Value: bson.NewDateTimeFromTime(t0.Add(time.Second))},
		{Key: "message_count", Value: int64(0)}, {Key: "total_tokens", Value: int64(0)},
	}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"empty", "absent"} {
		c, err := st.GetConversation(ctx, id)
		if err != nil || c.Mode != storage.ModeAI {
			t.Errorf("GetConversation(%s): mode %q, %v; want %q", id, c.Mode, err, storage.ModeAI)
		}
	}
	list := func(m storage.Mode) []string {
		t.Helper()
		page, err := st.ListConversations(ctx, storage.ConversationQuery{Mode: m, WithTotal: true})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range page.Conversations {
			ids = append(ids, c.ID)
		}
		if page.Total != int64(len(ids)) {
			t.Errorf("mode %q: Total %d for %d conversations", m, page.Total, len(ids))
		}
		return ids
	}
	if got := list(storage.ModeAI); len(got) != 2 {
		t.Errorf("conversations in mode ai = %v, want both", got)
	}
	if got := list(storage.ModeWaiting); len(got) != 0 {
		t.Errorf("conversations in mode waiting = %v, want none", got)
	}
	for _, id := range []string{"empty", "absent"} {
		for _, c := range []storage.ModeChange{
			{ConversationID: id, From: []storage.Mode{storage.ModeAI}, To: storage.ModeAI, At: t0.Add(time.Minute)}, // a retry
			{ConversationID: id, From: []storage.Mode{storage.ModeAI}, To: storage.ModeWaiting, At: t0.Add(time.Hour)},
		} {
			if got, _, err := st.ChangeMode(ctx, c); err != nil || got.Mode != c.To {
				t.Errorf("ChangeMode(%s to %s): mode %q, %v", id, c.To, got.Mode, err)
			}
		}
	}
	if got := list(storage.ModeWaiting); len(got) != 2 {
		t.Errorf("conversations in mode waiting after the changes = %v, want both", got)
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

// TestPartsDocumentLayout pins the stored form of parts, which other
// programs may read: an array "parts" of subdocuments in the message's
// order, with snake_case field names, empty fields left out (the kind
// excepted), and no array at all for a message without parts. A message
// document written before parts existed reads as a message without them.
func TestPartsDocumentLayout(t *testing.T) {
	st, db := newStore(t)
	ctx := t.Context()
	t0 := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.CreateConversation(ctx, storage.Conversation{ID: "c1", UserID: "alice", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	m := storage.Message{ID: "r1", ConversationID: "c1", Role: storage.RoleAssistant, Status: storage.MessageAwaitingApproval,
		Usage: storage.Usage{InputTokens: 10, OutputTokens: 5, CachedInputTokens: 4, ReasoningTokens: 2},
		Parts: []storage.Part{
			{Kind: storage.PartReasoning, Text: "hmm", Signature: "sig"},
			{Kind: storage.PartToolCall, CallID: "call-1", Name: "lookup", Arguments: `{"q":1}`,
				Approval: storage.ApprovalApproved, ApprovalExpiresAt: t0.Add(time.Minute), ApprovedBy: "bob"},
			{Kind: storage.PartToolResult, CallID: "call-1", Name: "lookup", Text: "no", IsError: true, ErrorCode: "timeout"},
			{Kind: storage.PartFile, FileID: "f1", FileName: "a.pdf", MediaType: "application/pdf"},
			{},
		},
		CreatedAt: t0}
	if _, _, err := st.AppendMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	raw := func() bson.M {
		t.Helper()
		var doc bson.M
		if err := db.Collection("messages").FindOne(ctx, bson.D{{Key: "conversation_id", Value: "c1"}, {Key: "id", Value: "r1"}}).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	doc := raw()
	var stored struct {
		Parts []bson.M `bson:"parts"`
	}
	if err := db.Collection("messages").FindOne(ctx, bson.D{{Key: "_id", Value: doc["_id"]}}).Decode(&stored); err != nil {
		t.Fatal(err)
	}
	want := []bson.M{
		bson.M{"kind": "reasoning", "text": "hmm", "signature": "sig"},
		bson.M{"kind": "tool_call", "call_id": "call-1", "name": "lookup", "arguments": `{"q":1}`,
			"approval": "approved", "approval_expires_at": bson.NewDateTimeFromTime(t0.Add(time.Minute)), "approved_by": "bob"},
		bson.M{"kind": "tool_result", "call_id": "call-1", "name": "lookup", "text": "no", "is_error": true, "error_code": "timeout"},
		bson.M{"kind": "file", "file_id": "f1", "file_name": "a.pdf", "media_type": "application/pdf"},
		bson.M{"kind": ""},
	}
	if !reflect.DeepEqual(stored.Parts, want) {
		t.Errorf("stored parts:\n got %v\nwant %v", stored.Parts, want)
	}
	for field, want := range map[string]any{"status": "awaiting_approval", "cached_input_tokens": int64(4), "reasoning_tokens": int64(2)} {
		if doc[field] != want {
			t.Errorf("stored %s = %#v, want %#v", field, doc[field], want)
		}
	}

	// An update without parts removes the array.
	m.Parts, m.Status, m.UpdatedAt = nil, storage.MessageComplete, t0.Add(time.Second)
	if err := st.UpdateMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	if parts, ok := raw()["parts"]; ok {
		t.Errorf("after an update without parts, the document holds parts %v", parts)
	}

	// A document of an older release: no parts, no new usage fields.
	if _, err := db.Collection("messages").InsertOne(ctx, bson.D{
		{Key: "_id", Value: "2:c1/old"}, {Key: "conversation_id", Value: "c1"}, {Key: "id", Value: "old"},
		{Key: "role", Value: "assistant"}, {Key: "text", Value: "kept"}, {Key: "status", Value: "complete"},
		{Key: "input_tokens", Value: int64(3)}, {Key: "created_at", Value: bson.NewDateTimeFromTime(t0)},
	}); err != nil {
		t.Fatal(err)
	}
	old, err := st.GetMessage(ctx, "c1", "old")
	if err != nil || old.Text != "kept" || old.Parts != nil || old.Usage != (storage.Usage{InputTokens: 3}) {
		t.Errorf("message of an older release = %+v, %v", old, err)
	}
}
