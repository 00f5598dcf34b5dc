package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/admin"
	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/memory"
)

// Tokens of the fixture's identities.
const (
	opToken    = "operator-one-token"
	op2Token   = "operator-two-token"
	adminToken = "admin-role-token"
	userToken  = "plain-user-token"
)

// t0 is the fixture's reference time; the fixture clock starts there.
var t0 = time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)

// clock is a fake clock safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is a Handler over a memory store, static tokens and a token
// bucket on a fake clock.
type fixture struct {
	t     testing.TB
	store *memory.Store
	clock *clock
	h     *admin.Handler
	logs  *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newFixture builds a fixture; edit may change the Config before New.
func newFixture(t testing.TB, edit func(*admin.Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, store: memory.New(), clock: &clock{now: t0}, logs: &syncBuffer{}}
	authn, err := auth.NewStaticTokens(map[string]auth.Identity{
		opToken:    {UserID: "op-1", Name: "Olivia", Roles: []string{"operator"}},
		op2Token:   {UserID: "op-2", Name: "Oscar", Roles: []string{"user", "operator"}},
		adminToken: {UserID: "ad-1", Name: "Ada", Roles: []string{"admin"}},
		userToken:  {UserID: "u-1", Name: "Uma", Roles: []string{"user"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	limiter, err := ratelimit.NewTokenBucket(ratelimit.TokenBucketConfig{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	cfg := admin.Config{
		Store:         f.store,
		Authenticator: authn,
		Limiter:       limiter,
		Limit:         ratelimit.Limit{Rate: 1e6, Burst: 1e6},
		AddressLimit:  ratelimit.Limit{Rate: 1e6, Burst: 1e6}, // every request comes from one address
		OperatorRoles: []string{"operator", "admin"},
		Logger:        slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:           f.clock.Now,
	}
	if edit != nil {
		edit(&cfg)
	}
	f.h, err = admin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// response is a recorded answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errorBody is the error shape of the API.
type errorBody struct {
	Error struct {
		Code         string `json:"code"`
		Message      string `json:"message"`
		Retryable    bool   `json:"retryable"`
		RetryAfterMS int64  `json:"retry_after_ms"`
		Field        string `json:"field"`
		Ref          string `json:"ref"`
	} `json:"error"`
}

// do sends req to the handler.
func (f *fixture) do(req *http.Request) response {
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// newGet builds GET target with token as a bearer token ("" for none).
func newGet(target, token string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// get sends GET target with token as a bearer token ("" for none).
func (f *fixture) get(target, token string) response {
	return f.do(newGet(target, token))
}

// getOK gets target as the operator and decodes a 200 answer into v.
func (f *fixture) getOK(t testing.TB, target string, v any) {
	t.Helper()
	r := f.get(target, opToken)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: status %d, body %s", target, r.status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("GET %s: decoding %s: %v", target, r.body, err)
	}
}

// wantError checks an error answer's status, code and field.
func (r response) wantError(t testing.TB, status int, code, field string) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	if r.status != status || e.Error.Code != code || e.Error.Field != field {
		t.Fatalf("got %d %s field %q (%s), want %d %s field %q",
			r.status, e.Error.Code, e.Error.Field, e.Error.Message, status, code, field)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q", ct)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q, want no-store", cc)
	}
	return e
}

// conv creates a conversation.
func (f *fixture) conv(c storage.Conversation) {
	f.t.Helper()
	if c.UserID == "" {
		c.UserID = "u-1"
	}
	if err := f.store.CreateConversation(context.Background(), c); err != nil {
		f.t.Fatal(err)
	}
}

// msg appends a message.
func (f *fixture) msg(m storage.Message) {
	f.t.Helper()
	if m.Status == "" {
		m.Status = storage.MessageComplete
	}
	if _, _, err := f.store.AppendMessage(context.Background(), m); err != nil {
		f.t.Fatal(err)
	}
}

// reply appends an assistant reply created at at that completes after
// took with usage in/out.
func (f *fixture) reply(convID, id string, at time.Time, took time.Duration, in, out int64) {
	f.t.Helper()
	m := storage.Message{ID: id, ConversationID: convID, Role: storage.RoleAssistant,
		Status: storage.MessageStreaming, CreatedAt: at, UpdatedAt: at}
	f.msg(m)
	m.Status, m.FinishReason, m.Text = storage.MessageComplete, "stop", "answer "+id
	m.Usage = storage.Usage{InputTokens: in, OutputTokens: out}
	m.Model = "model-a"
	m.UpdatedAt = at.Add(took)
	if err := f.store.UpdateMessage(context.Background(), m); err != nil {
		f.t.Fatal(err)
	}
}

// mode changes a conversation's mode.
func (f *fixture) mode(id string, to storage.Mode, operator string, at time.Time) {
	f.t.Helper()
	_, _, err := f.store.ChangeMode(context.Background(), storage.ModeChange{ConversationID: id,
		From: []storage.Mode{storage.ModeAI, storage.ModeWaiting, storage.ModeOperator}, To: to, Operator: operator,
		OperatorName: "Name of " + operator, At: at})
	if err != nil {
		f.t.Fatal(err)
	}
}

// audit appends an audit entry.
func (f *fixture) audit(e storage.AuditEntry) {
	f.t.Helper()
	if err := f.store.AppendAudit(context.Background(), e); err != nil {
		f.t.Fatal(err)
	}
}

// ids returns the ids of conversations.
func ids(cs []admin.Conversation) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

func rfc(t time.Time) string { return t.Format(time.RFC3339Nano) }

func cid(i int) string { return fmt.Sprintf("c-%05d", i) }
