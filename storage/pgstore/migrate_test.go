package pgstore_test

import (
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/pgstore"
)

// migrations returns the versions recorded in schema's schema_migrations.
func migrations(t *testing.T, p *pgxpool.Pool, schema string) []int {
	t.Helper()
	rows, err := p.Query(t.Context(), "SELECT version FROM "+schema+".schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func wantAllMigrations(t *testing.T, p *pgxpool.Pool, schema string) {
	t.Helper()
	vs := migrations(t, p, schema)
	if len(vs) != pgstore.LatestVersion() {
		t.Fatalf("schema_migrations holds %v, want every version 1..%d once", vs, pgstore.LatestVersion())
	}
	for i, v := range vs {
		if v != i+1 {
			t.Fatalf("schema_migrations holds %v, want every version 1..%d once", vs, pgstore.LatestVersion())
		}
	}
}

func TestNewRefusesAnUnmigratedSchema(t *testing.T) {
	p := pool(t)
	schema := newSchemaName()
	dropSchema(t, p, schema)
	_, err := pgstore.New(t.Context(), p, pgstore.WithSchema(schema))
	if !errors.Is(err, pgstore.ErrMigrationNeeded) {
		t.Fatalf("New on an empty schema: %v, want ErrMigrationNeeded", err)
	}
	if v, err := pgstore.SchemaVersion(t.Context(), p, pgstore.WithSchema(schema)); err != nil || v != 0 {
		t.Fatalf("SchemaVersion of an empty schema = %d, %v; want 0", v, err)
	}
	if err := pgstore.Migrate(t.Context(), p, pgstore.WithSchema(schema)); err != nil {
		t.Fatal(err)
	}
	if _, err := pgstore.New(t.Context(), p, pgstore.WithSchema(schema)); err != nil {
		t.Fatalf("New after Migrate: %v", err)
	}
}

func TestMigrateTwiceChangesNothing(t *testing.T) {
	p := pool(t)
	schema := newSchemaName()
	dropSchema(t, p, schema)
	for range 2 {
		if err := pgstore.Migrate(t.Context(), p, pgstore.WithSchema(schema)); err != nil {
			t.Fatal(err)
		}
	}
	wantAllMigrations(t, p, schema)
	// A store opened with the option migrates a third time, and works.
	st, err := pgstore.New(t.Context(), p, pgstore.WithSchema(schema), pgstore.WithAutoMigrate(true))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateConversation(t.Context(), storage.Conversation{ID: "c1", UserID: "u", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	wantAllMigrations(t, p, schema)
}

func TestMigrateFromSeveralPoolsAtOnce(t *testing.T) {
	url := requireURL(t)
	schema := newSchemaName()
	dropSchema(t, pool(t), schema)
	// Two pools stand for two processes: nothing but the database's lock
	// keeps their connections apart.
	var pools []*pgxpool.Pool
	for range 2 {
		p, err := pgxpool.New(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		pools = append(pools, p)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			_, err := pgstore.New(context.WithoutCancel(t.Context()), pools[i%2], pgstore.WithSchema(schema), pgstore.WithAutoMigrate(true))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent migration: %v", err)
		}
	}
	wantAllMigrations(t, pools[0], schema)
}

func TestAnOlderSchemaIsBroughtForward(t *testing.T) {
	p := pool(t)
	schema := newSchemaName()
	dropSchema(t, p, schema)
	// Version 1, as the first release left it, holding data.
	if err := pgstore.MigrateTo(t.Context(), p, 1, pgstore.WithSchema(schema)); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := p.Exec(t.Context(), "INSERT INTO "+schema+".conversations (id, user_id, status, created_at, updated_at) VALUES ('old', 'u', 'active', $1, $1)", created); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(t.Context(), "INSERT INTO "+schema+".messages (conversation_id, id, role, text, created_at) VALUES ('old', 'm1', 'user', 'kept', $1)", created); err != nil {
		t.Fatal(err)
	}
	if _, err := pgstore.New(t.Context(), p, pgstore.WithSchema(schema)); !errors.Is(err, pgstore.ErrMigrationNeeded) {
		t.Fatalf("New on a version 1 schema: %v, want ErrMigrationNeeded", err)
	}
	st, err := pgstore.New(t.Context(), p, pgstore.WithSchema(schema), pgstore.WithAutoMigrate(true))
	if err != nil {
		t.Fatal(err)
	}
	wantAllMigrations(t, p, schema)
	c, err := st.GetConversation(t.Context(), "old")
	if err != nil || c.UserID != "u" || !c.CreatedAt.Equal(created) {
		t.Fatalf("conversation from version 1 = %+v, %v", c, err)
	}
	m, err := st.GetMessage(t.Context(), "old", "m1")
	if err != nil || m.Text != "kept" {
		t.Fatalf("message from version 1 = %+v, %v", m, err)
	}
	var indexes int
	if err := p.QueryRow(t.Context(), "SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND indexname = 'conversations_tokens'", schema).Scan(&indexes); err != nil || indexes != 1 {
		t.Fatalf("index of the second migration: %d, %v", indexes, err)
	}
}

// TestPartsMigrationUpgradesTheLastRelease brings a schema of the release
// before parts (version 2), holding data, to the latest version: its rows
// read as messages without parts and with zero cached and reasoning
// tokens, and take parts and the new counts from then on. Running the
// migration's statements a second time changes nothing.
func TestPartsMigrationUpgradesTheLastRelease(t *testing.T) {
	p := pool(t)
	schema := newSchemaName()
	dropSchema(t, p, schema)
	if err := pgstore.MigrateTo(t.Context(), p, 2, pgstore.WithSchema(schema)); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, q := range []string{
		"INSERT INTO " + schema + ".conversations (id, user_id, status, created_at, updated_at, message_count, input_tokens, output_tokens) VALUES ('old', 'u', 'active', $1, $1, 1, 7, 3)",
		"INSERT INTO " + schema + ".messages (conversation_id, id, role, text, status, input_tokens, output_tokens, created_at) VALUES ('old', 'r1', 'assistant', 'kept', 'streaming', 7, 3, $1)",
	} {
		if _, err := p.Exec(t.Context(), q, created); err != nil {
			t.Fatal(err)
		}
	}
	st, err := pgstore.New(t.Context(), p, pgstore.WithSchema(schema), pgstore.WithAutoMigrate(true))
	if err != nil {
		t.Fatal(err)
	}
	wantAllMigrations(t, p, schema)
	m, err := st.GetMessage(t.Context(), "old", "r1")
	if err != nil || m.Text != "kept" || m.Parts != nil || m.Usage != (storage.Usage{InputTokens: 7, OutputTokens: 3}) {
		t.Fatalf("message of version 2 = %+v, %v; want its text and usage, no parts", m, err)
	}

	// The migration's statements again, as a partial earlier run might
	// have left them: nothing changes.
	if _, err := p.Exec(t.Context(), "SET search_path TO "+schema+"; "+pgstore.MigrationSQL(3)+"; RESET search_path"); err != nil {
		t.Fatalf("migration 3 run a second time: %v", err)
	}

	// The old reply pauses for approval, then completes with parts and
	// the new counts.
	upd := m
	upd.Status, upd.UpdatedAt = storage.MessageAwaitingApproval, created.Add(time.Second)
	upd.Parts = []storage.Part{{Kind: storage.PartToolCall, CallID: "c1", Name: "lookup", Arguments: `{"q": "ü"}`,
		Approval: storage.ApprovalPending, ApprovalExpiresAt: created.Add(time.Minute)}}
	if err := st.UpdateMessage(t.Context(), upd); err != nil {
		t.Fatal(err)
	}
	upd.Status, upd.UpdatedAt = storage.MessageComplete, created.Add(2*time.Second)
	upd.Usage = storage.Usage{InputTokens: 10, OutputTokens: 4, CachedInputTokens: 6, ReasoningTokens: 2}
	upd.Parts = append(upd.Parts, storage.Part{Kind: storage.PartText, Text: "done"})
	upd.Parts[0].Approval = storage.ApprovalApproved
	if err := st.UpdateMessage(t.Context(), upd); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetMessage(t.Context(), "old", "r1")
	if err != nil || len(got.Parts) != 2 || got.Parts[0].Approval != storage.ApprovalApproved || got.Parts[1].Text != "done" ||
		!got.Parts[0].ApprovalExpiresAt.Equal(created.Add(time.Minute)) || got.Usage != upd.Usage {
		t.Fatalf("updated message = %+v, %v", got, err)
	}
	c, err := st.GetConversation(t.Context(), "old")
	wantStats := storage.ConversationStats{MessageCount: 1, Usage: upd.Usage, Responses: 1,
		ResponseTimeTotal: 2 * time.Second, ResponseTimeMin: 2 * time.Second, ResponseTimeMax: 2 * time.Second}
	if err != nil || c.Stats != wantStats {
		t.Fatalf("conversation stats = %+v, %v; want %+v", c.Stats, err, wantStats)
	}
}

// TestUsageMigrationUpgradesTheLastRelease brings a schema of the release
// before usage (version 3), holding a conversation, to the latest
// version: the conversation is as it was, usage is recorded, listed,
// summed and reserved, and running the migration's statements a second
// time changes nothing.
func TestUsageMigrationUpgradesTheLastRelease(t *testing.T) {
	p := pool(t)
	schema := newSchemaName()
	dropSchema(t, p, schema)
	if err := pgstore.MigrateTo(t.Context(), p, 3, pgstore.WithSchema(schema)); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := p.Exec(t.Context(), "INSERT INTO "+schema+".conversations (id, user_id, status, created_at, updated_at) VALUES ('old', 'u', 'active', $1, $1)", created); err != nil {
		t.Fatal(err)
	}
	st, err := pgstore.New(t.Context(), p, pgstore.WithSchema(schema), pgstore.WithAutoMigrate(true))
	if err != nil {
		t.Fatal(err)
	}
	wantAllMigrations(t, p, schema)
	if c, err := st.GetConversation(t.Context(), "old"); err != nil || c.UserID != "u" {
		t.Fatalf("conversation of version 3 = %+v, %v", c, err)
	}
	r := storage.UsageRecord{ID: "r1", UserID: "u", Model: "m", At: created.Add(time.Hour), InputTokens: 7, OutputTokens: 3, CostMicros: 5}
	if err := st.RecordUsage(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(t.Context(), "SET search_path TO "+schema+"; "+pgstore.MigrationSQL(4)+"; RESET search_path"); err != nil {
		t.Fatalf("migration 4 run a second time: %v", err)
	}
	page, err := st.ListUsage(t.Context(), storage.UsageQuery{})
	want := storage.UsageRow{UserID: "u", Model: "m", Day: created, Replies: 1, InputTokens: 7, OutputTokens: 3, CostMicros: 5}
	if err != nil || len(page.Rows) != 1 || page.Rows[0] != want {
		t.Fatalf("ListUsage = %+v, %v; want %+v", page.Rows, err, want)
	}
	if sum, err := st.SumUsage(t.Context(), "u", created, created.AddDate(0, 0, 1)); err != nil || sum.Tokens() != 10 {
		t.Fatalf("SumUsage = %+v, %v", sum, err)
	}
	limit := storage.UsageLimit{From: created, Before: created.AddDate(0, 0, 1), MaxTokens: 15}
	for _, tc := range []struct {
		id     string
		tokens int64
		want   bool
	}{{"a", 6, false}, {"b", 5, true}, {"c", 1, false}} {
		granted, err := st.ReserveUsage(t.Context(), storage.Reservation{ID: tc.id, UserID: "u", Tokens: tc.tokens,
			ExpiresAt: time.Now().Add(time.Hour), Limits: []storage.UsageLimit{limit}})
		if err != nil || granted != tc.want {
			t.Fatalf("ReserveUsage(%s, %d of 5 left) = %v, %v; want %v", tc.id, tc.tokens, granted, err, tc.want)
		}
	}
}

// TestBlobMigrationUpgradesTheLastRelease brings a schema of the release
// before blobs (version 4), holding a conversation and usage, to the
// latest version: both are as they were, blobs are put, read and listed,
// and running the migration's statements a second time changes nothing.
func TestBlobMigrationUpgradesTheLastRelease(t *testing.T) {
	p := pool(t)
	schema := newSchemaName()
	dropSchema(t, p, schema)
	if err := pgstore.MigrateTo(t.Context(), p, 4, pgstore.WithSchema(schema)); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := p.Exec(t.Context(), "INSERT INTO "+schema+".conversations (id, user_id, status, created_at, updated_at) VALUES ('old', 'u', 'active', $1, $1)", created); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(t.Context(), "INSERT INTO "+schema+".usage_rows (user_id, model, day, replies) VALUES ('u', 'm', $1, 1)", created); err != nil {
		t.Fatal(err)
	}
	st, err := pgstore.New(t.Context(), p, pgstore.WithSchema(schema), pgstore.WithAutoMigrate(true))
	if err != nil {
		t.Fatal(err)
	}
	wantAllMigrations(t, p, schema)
	if c, err := st.GetConversation(t.Context(), "old"); err != nil || c.UserID != "u" {
		t.Fatalf("conversation of version 4 = %+v, %v", c, err)
	}
	if page, err := st.ListUsage(t.Context(), storage.UsageQuery{}); err != nil || len(page.Rows) != 1 {
		t.Fatalf("usage of version 4 = %+v, %v", page.Rows, err)
	}
	b := storage.Blob{ID: "f", ConversationID: "old", UserID: "u", MediaType: "text/plain", CreatedAt: created}
	if _, err := st.PutBlob(t.Context(), b, strings.NewReader("attached"), 100); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(t.Context(), "SET search_path TO "+schema+"; "+pgstore.MigrationSQL(5)+"; RESET search_path"); err != nil {
		t.Fatalf("migration 5 run a second time: %v", err)
	}
	_, rc, err := st.OpenBlob(t.Context(), "old", "f")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if data, err := io.ReadAll(rc); err != nil || string(data) != "attached" {
		t.Fatalf("the blob after migration 5 ran again: %q, %v", data, err)
	}
	if page, err := st.ListBlobs(t.Context(), storage.BlobQuery{UserID: "u"}); err != nil || len(page.Blobs) != 1 {
		t.Fatalf("ListBlobs = %+v, %v", page.Blobs, err)
	}
}

// TestPartsThatJSONCannotHoldAreInvalid: PostgreSQL's jsonb holds no NUL
// character, and JSON encoding would replace invalid UTF-8, so such parts
// are refused with storage.ErrInvalid rather than stored altered.
func TestPartsThatJSONCannotHoldAreInvalid(t *testing.T) {
	st := newStore(t)
	created := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.CreateConversation(t.Context(), storage.Conversation{ID: "c1", UserID: "u", CreatedAt: created}); err != nil {
		t.Fatal(err)
	}
	ok := storage.Message{ID: "r0", ConversationID: "c1", Role: storage.RoleAssistant, CreatedAt: created,
		Parts: []storage.Part{{Kind: storage.PartText, Text: "fine"}}}
	if _, _, err := st.AppendMessage(t.Context(), ok); err != nil {
		t.Fatal(err)
	}
	for name, part := range map[string]storage.Part{
		"NUL in a text":           {Kind: storage.PartText, Text: "a\x00b"},
		"invalid UTF-8 arguments": {Kind: storage.PartToolCall, Arguments: "{\"q\": \"\xff\"}"},
	} {
		m := storage.Message{ID: "r1", ConversationID: "c1", Role: storage.RoleAssistant, CreatedAt: created,
			Parts: []storage.Part{{Kind: storage.PartText, Text: "fine"}, part}}
		if _, _, err := st.AppendMessage(t.Context(), m); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("AppendMessage with %s: %v, want ErrInvalid", name, err)
		}
		upd := ok
		upd.Parts = m.Parts
		if err := st.UpdateMessage(t.Context(), upd); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("UpdateMessage with %s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := st.GetMessage(t.Context(), "c1", "r1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a refused append was stored: %v", err)
	}
	if got, err := st.GetMessage(t.Context(), "c1", "r0"); err != nil || len(got.Parts) != 1 || got.Parts[0].Text != "fine" {
		t.Errorf("a refused update changed r0 to %+v, %v", got.Parts, err)
	}
}

// TestPartsColumnLayout pins the stored form of parts, which other
// programs may query: a jsonb array in the message's order whose objects
// have snake_case keys, empty fields left out (kind excepted), times in
// RFC 3339; NULL for a message without parts.
func TestPartsColumnLayout(t *testing.T) {
	st, schema := newStoreSchema(t)
	p := pool(t)
	created := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.CreateConversation(t.Context(), storage.Conversation{ID: "c1", UserID: "u", CreatedAt: created}); err != nil {
		t.Fatal(err)
	}
	m := storage.Message{ID: "r1", ConversationID: "c1", Role: storage.RoleAssistant, CreatedAt: created,
		Parts: []storage.Part{
			{Kind: storage.PartReasoning, Text: "hmm", Signature: "sig"},
			{Kind: storage.PartToolCall, CallID: "call-1", Name: "lookup", Arguments: `{"q":1}`,
				Approval: storage.ApprovalApproved, ApprovalExpiresAt: created.Add(time.Minute), ApprovedBy: "bob"},
			{Kind: storage.PartToolResult, CallID: "call-1", Name: "lookup", Text: "no", IsError: true, ErrorCode: "timeout"},
			{Kind: storage.PartFile, FileID: "f1", FileName: "a.pdf", MediaType: "application/pdf"},
			{},
		}}
	if _, _, err := st.AppendMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := p.QueryRow(t.Context(), "SELECT parts FROM "+schema+".messages WHERE id = 'r1'").Scan(&got); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"kind": "reasoning", "text": "hmm", "signature": "sig"},
		{"kind": "tool_call", "call_id": "call-1", "name": "lookup", "arguments": `{"q":1}`,
			"approval": "approved", "approval_expires_at": "2031-01-01T00:01:00Z", "approved_by": "bob"},
		{"kind": "tool_result", "call_id": "call-1", "name": "lookup", "text": "no", "is_error": true, "error_code": "timeout"},
		{"kind": "file", "file_id": "f1", "file_name": "a.pdf", "media_type": "application/pdf"},
		{"kind": ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stored parts:\n got %v\nwant %v", got, want)
	}

	m.Parts, m.UpdatedAt = nil, created.Add(time.Second)
	if err := st.UpdateMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	var null bool
	if err := p.QueryRow(t.Context(), "SELECT parts IS NULL FROM "+schema+".messages WHERE id = 'r1'").Scan(&null); err != nil || !null {
		t.Errorf("parts after an update without parts: NULL %v, %v; want NULL", null, err)
	}
}
