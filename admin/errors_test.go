package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/admin"
	"github.com/chatboxsdk/chatbox/storage"
)

// failingStore fails every read with err; a nil err makes reads wait for
// their context instead.
type failingStore struct {
	storage.Store
	err error
}

func (s failingStore) fail(ctx context.Context) error {
	if s.err != nil {
		return s.err
	}
	<-ctx.Done()
	return ctx.Err()
}

func (s failingStore) GetConversation(ctx context.Context, _ string) (storage.Conversation, error) {
	return storage.Conversation{}, s.fail(ctx)
}

func (s failingStore) ListConversations(ctx context.Context, _ storage.ConversationQuery) (storage.ConversationPage, error) {
	return storage.ConversationPage{}, s.fail(ctx)
}

func (s failingStore) Aggregate(ctx context.Context, _ storage.AggregateQuery) (storage.Aggregate, error) {
	return storage.Aggregate{}, s.fail(ctx)
}

func TestStoreErrorsMapToCodes(t *testing.T) {
	secret := "dial tcp 10.0.0.7:27017: connection refused"
	cases := []struct {
		name      string
		err       error
		status    int
		code      string
		field     string
		retryable bool
		ref       bool
	}{
		{"unavailable", fmt.Errorf("mongo: %s: %w", secret, storage.ErrUnavailable), 503, "unavailable", "", true, true},
		{"timeout", nil, 503, "unavailable", "", true, true},
		{"invalid", fmt.Errorf("%s: %w", secret, storage.ErrInvalid), 400, "invalid_field", "cursor", false, false},
		{"not found", fmt.Errorf("%s: %w", secret, storage.ErrNotFound), 404, "not_found", "", false, false},
		{"other", errors.New(secret), 500, "internal", "", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *admin.Config) {
				c.Store = failingStore{Store: c.Store, err: tc.err}
				c.StoreTimeout = 20 * time.Millisecond
			})
			r := f.get("/conversations", opToken)
			e := r.wantError(t, tc.status, tc.code, tc.field)
			if e.Error.Retryable != tc.retryable || (e.Error.Ref != "") != tc.ref {
				t.Fatalf("retryable %v ref %q", e.Error.Retryable, e.Error.Ref)
			}
			if strings.Contains(string(r.body), "10.0.0.7") {
				t.Fatalf("internal error text reached the client: %s", r.body)
			}
			if tc.ref && !strings.Contains(f.logs.String(), `"ref":"`+e.Error.Ref+`"`) {
				t.Fatalf("ref %s is not in the log:\n%s", e.Error.Ref, f.logs)
			}
		})
	}
}

// logLine is the part of a JSON log line the tests read.
type logLine struct {
	Msg       string `json:"msg"`
	RequestID string `json:"request_id"`
	Operator  string `json:"operator"`
	Ref       string `json:"ref"`
	Status    int    `json:"status"`
}

func parseLogs(t *testing.T, s string) []logLine {
	t.Helper()
	var out []logLine
	for l := range strings.Lines(s) {
		var ll logLine
		if err := json.Unmarshal([]byte(l), &ll); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, ll)
	}
	return out
}

func TestLogLinesCarryRequestIDAndOperator(t *testing.T) {
	f := newFixture(t, func(c *admin.Config) {
		c.Store = failingStore{Store: c.Store, err: errors.New("disk on fire")}
	})
	req1 := f.get("/conversations", opToken)
	req2 := f.get("/conversations", opToken)
	id1, id2 := req1.header.Get("X-Request-Id"), req2.header.Get("X-Request-Id")
	if id1 == "" || id1 == id2 {
		t.Fatalf("request ids %q and %q", id1, id2)
	}
	lines := parseLogs(t, f.logs.String())
	if len(lines) != 4 { // per request: the internal error, then the request line
		t.Fatalf("%d log lines, want 4:\n%s", len(lines), f.logs)
	}
	for i, l := range lines {
		want := id1
		if i >= 2 {
			want = id2
		}
		if l.RequestID != want || l.Operator != "op-1" {
			t.Fatalf("line %d %+v: want request_id %s operator op-1", i, l, want)
		}
	}
	if lines[0].Ref == "" || lines[3].Status != http.StatusInternalServerError {
		t.Fatalf("lines %+v", lines)
	}
}

func TestRequestIDComesFromTheServer(t *testing.T) {
	f := newFixture(t, nil)
	req := newGet("/metrics", opToken)
	req.Header.Set("X-Request-Id", "client-chosen")
	r := f.do(req)
	if got := r.header.Get("X-Request-Id"); got == "" || got == "client-chosen" {
		t.Fatalf("X-Request-Id %q", got)
	}
	if strings.Contains(f.logs.String(), "client-chosen") {
		t.Fatal("the client's request id reached the log")
	}
}

func TestTokensNeverLogged(t *testing.T) {
	f := newFixture(t, nil)
	f.get("/conversations?access_token="+opToken, "")
	f.get("/conversations", opToken)
	f.get("/conversations", userToken)
	f.get("/conversations", "wrong-token-value")
	f.get("/conversations?jwt=query-token-value", opToken)
	logs := f.logs.String()
	if len(parseLogs(t, logs)) < 5 {
		t.Fatalf("too few log lines:\n%s", logs)
	}
	for _, tok := range []string{opToken, userToken, "wrong-token-value", "query-token-value"} {
		if strings.Contains(logs, tok) {
			t.Fatalf("token %q is in the log:\n%s", tok, logs)
		}
	}
}
