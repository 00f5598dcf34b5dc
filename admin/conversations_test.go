package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/admin"
	"github.com/chatboxsdk/chatbox/storage"
)

// sixConversations prepares a small data set whose every listing order is
// known:
//
//	id  user model created last-msg msgs tokens status mode     assisted
//	c1  u-1  m-a   0       2        2    15     active ai       no
//	c2  u-2  m-b   10      11       1    0      ended  ai       no
//	c3  u-1  m-b   20      24       3    200    active waiting  no
//	c4  u-3  m-a   30      32       2    0      active operator yes
//	c5  u-2  m-a   40      -        0    0      active ai       no
//	c6  u-3  m-c   5       6        1    0      ended  ai       yes (took over, released)
//
// Times are minutes after t0. Mode changes and ends happen before the
// next conversation's last activity, so they cannot reorder "updated".
func sixConversations(f *fixture) {
	user := func(conv, id string, min int) {
		f.msg(storage.Message{ID: id, ConversationID: conv, Role: storage.RoleUser, Text: "hi", CreatedAt: at(min)})
	}
	operator := func(conv, id string, min int) {
		f.msg(storage.Message{ID: id, ConversationID: conv, Role: storage.RoleOperator, Text: "hello", CreatedAt: at(min)})
	}
	f.conv(storage.Conversation{ID: "c1", UserID: "u-1", Model: "m-a", CreatedAt: at(0)})
	user("c1", "m1", 1)
	f.reply("c1", "m2", at(2), 1500*time.Millisecond, 10, 5)

	f.conv(storage.Conversation{ID: "c2", UserID: "u-2", Model: "m-b", CreatedAt: at(10)})
	user("c2", "m1", 11)
	if err := f.store.EndConversation(context.Background(), "c2", at(12)); err != nil {
		f.t.Fatal(err)
	}

	f.conv(storage.Conversation{ID: "c3", UserID: "u-1", Model: "m-b", CreatedAt: at(20)})
	f.mode("c3", storage.ModeWaiting, "", at(21))
	user("c3", "m1", 22)
	f.reply("c3", "m2", at(23), 700*time.Millisecond, 100, 100)
	user("c3", "m3", 24)

	f.conv(storage.Conversation{ID: "c4", UserID: "u-3", Model: "m-a", CreatedAt: at(30)})
	user("c4", "m1", 30)
	f.mode("c4", storage.ModeOperator, "op-1", at(31))
	operator("c4", "m2", 32)

	f.conv(storage.Conversation{ID: "c5", UserID: "u-2", Model: "m-a", CreatedAt: at(40)})

	f.conv(storage.Conversation{ID: "c6", UserID: "u-3", Model: "m-c", CreatedAt: at(5)})
	f.mode("c6", storage.ModeOperator, "op-2", at(6))
	operator("c6", "m1", 6)
	f.mode("c6", storage.ModeAI, "op-2", at(7))
	if err := f.store.EndConversation(context.Background(), "c6", at(8)); err != nil {
		f.t.Fatal(err)
	}
}

func TestListFilters(t *testing.T) {
	f := newFixture(t, nil)
	sixConversations(f)
	cases := []struct {
		query string
		want  []string // in the default order: last activity, newest first
	}{
		{"", []string{"c5", "c4", "c3", "c2", "c6", "c1"}},
		{"user=u-1", []string{"c3", "c1"}},
		{"user=u-3", []string{"c4", "c6"}},
		{"user=nobody", []string{}},
		{"status=active", []string{"c5", "c4", "c3", "c1"}},
		{"status=ended", []string{"c2", "c6"}},
		{"mode=ai", []string{"c5", "c2", "c6", "c1"}},
		{"mode=waiting", []string{"c3"}},
		{"mode=operator", []string{"c4"}},
		{"needs_help=true", []string{"c3"}},
		{"needs_help=true&mode=waiting", []string{"c3"}},
		{"operator_assisted=true", []string{"c4", "c6"}},
		{"operator_assisted=false", []string{"c5", "c3", "c2", "c1"}},
		{"model=m-a", []string{"c5", "c4", "c1"}},
		{"model=m-b", []string{"c3", "c2"}},
		{"model=m-c", []string{"c6"}},
		{"created_from=" + rfc(at(10)), []string{"c5", "c4", "c3", "c2"}},
		{"created_before=" + rfc(at(10)), []string{"c6", "c1"}},
		{"created_from=" + rfc(at(5)) + "&created_before=" + rfc(at(30)), []string{"c3", "c2", "c6"}},
		// An offset is honoured: 13:20+01:00 is 12:20Z, c3's creation.
		{"created_from=" + url.QueryEscape("2030-01-02T13:20:00+01:00"), []string{"c5", "c4", "c3"}},
		{"user=u-2&status=active", []string{"c5"}},
		{"model=m-a&operator_assisted=false", []string{"c5", "c1"}},
		{"user=u-3&mode=ai&status=ended", []string{"c6"}},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			var list admin.ConversationList
			f.getOK(t, "/conversations?"+tc.query, &list)
			if got := ids(list.Conversations); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if list.Total != int64(len(tc.want)) || list.NextCursor != "" {
				t.Fatalf("total %d next_cursor %q, want %d and none", list.Total, list.NextCursor, len(tc.want))
			}
		})
	}
}

func TestListSorts(t *testing.T) {
	f := newFixture(t, nil)
	sixConversations(f)
	desc := map[string][]string{
		"created":  {"c5", "c4", "c3", "c2", "c6", "c1"},
		"updated":  {"c5", "c4", "c3", "c2", "c6", "c1"},
		"messages": {"c3", "c4", "c1", "c6", "c2", "c5"}, // ties by id, in the same direction
		"tokens":   {"c3", "c1", "c6", "c5", "c4", "c2"},
	}
	// created and updated differ only in where c6 (created 5, active 7)
	// and c2 (created 10, active 11) fall: make them differ for real.
	f.msg(storage.Message{ID: "late", ConversationID: "c1", Role: storage.RoleUser, CreatedAt: at(35)})
	desc["updated"] = []string{"c5", "c1", "c4", "c3", "c2", "c6"}
	desc["messages"] = []string{"c3", "c1", "c4", "c6", "c2", "c5"}

	for sort, want := range desc {
		asc := slices.Clone(want)
		slices.Reverse(asc)
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"sort=" + sort, want},
			{"sort=" + sort + "&order=desc", want},
			{"sort=" + sort + "&order=asc", asc},
		} {
			t.Run(tc.query, func(t *testing.T) {
				var list admin.ConversationList
				f.getOK(t, "/conversations?"+tc.query, &list)
				if got := ids(list.Conversations); !slices.Equal(got, tc.want) {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			})
		}
	}
	var list admin.ConversationList
	f.getOK(t, "/conversations?order=asc", &list)
	if got, want := ids(list.Conversations), []string{"c6", "c2", "c3", "c4", "c1", "c5"}; !slices.Equal(got, want) {
		t.Fatalf("default sort is not last activity: got %v, want %v", got, want)
	}
}

func TestConversationShape(t *testing.T) {
	f := newFixture(t, nil)
	sixConversations(f)
	f.conv(storage.Conversation{ID: "full", UserID: "u-9", Title: "Refund", Model: "m-a",
		Metadata: map[string]string{"plan": "pro"}, CreatedAt: at(100).In(time.FixedZone("X", 3600))})
	f.msg(storage.Message{ID: "q1", ConversationID: "full", Role: storage.RoleUser, CreatedAt: at(101)})
	f.reply("full", "r1", at(101), 1200*time.Millisecond, 300, 40)
	f.msg(storage.Message{ID: "q2", ConversationID: "full", Role: storage.RoleUser, CreatedAt: at(102)})
	f.reply("full", "r2", at(102), 1701*time.Millisecond, 500, 60)
	f.mode("full", storage.ModeOperator, "op-1", at(102))

	var c admin.Conversation
	f.getOK(t, "/conversations/full", &c)
	want := admin.Conversation{
		ID: "full", UserID: "u-9", Title: "Refund", Model: "m-a", Status: "active", Mode: "operator",
		Operator: "op-1", OperatorName: "Name of op-1", Metadata: map[string]string{"plan": "pro"},
		CreatedAt: at(100), UpdatedAt: at(102), ModeChangedAt: at(102),
		Stats: admin.ConversationStats{MessageCount: 4, InputTokens: 800, OutputTokens: 100,
			Responses: 2, ResponseMSAvg: 1451, ResponseMSMin: 1200, ResponseMSMax: 1701},
	}
	if c.CreatedAt.Location() != time.UTC {
		t.Fatalf("created_at not in UTC: %v", c.CreatedAt)
	}
	if !equalConversation(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}

	// Absent fields: ended_at while active, mode_changed_at and operator
	// when the mode never changed, metadata when empty.
	r := f.get("/conversations/c1", opToken)
	var raw map[string]any
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ended_at", "mode_changed_at", "operator", "operator_name", "metadata"} {
		if _, ok := raw[k]; ok {
			t.Errorf("c1 has %s: %s", k, r.body)
		}
	}
	// An ended conversation has ended_at; a released one has no operator.
	c = admin.Conversation{} // Unmarshal leaves absent fields as they were
	f.getOK(t, "/conversations/c6", &c)
	if !c.EndedAt.Equal(at(8)) || c.Status != "ended" || c.Mode != "ai" || c.Operator != "" ||
		!c.Stats.OperatorAssisted || !c.ModeChangedAt.Equal(at(7)) {
		t.Fatalf("c6: %+v", c)
	}
}

func equalConversation(a, b admin.Conversation) bool {
	return a.ID == b.ID && a.UserID == b.UserID && a.Title == b.Title && a.Model == b.Model &&
		a.Status == b.Status && a.Mode == b.Mode && a.Operator == b.Operator && a.OperatorName == b.OperatorName &&
		len(a.Metadata) == len(b.Metadata) && a.Metadata["plan"] == b.Metadata["plan"] &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt) &&
		a.EndedAt.Equal(b.EndedAt) && a.ModeChangedAt.Equal(b.ModeChangedAt) && a.Stats == b.Stats
}

func TestGetConversation(t *testing.T) {
	f := newFixture(t, nil)
	f.conv(storage.Conversation{ID: "a/b c", CreatedAt: t0})
	var c admin.Conversation
	f.getOK(t, "/conversations/"+url.PathEscape("a/b c"), &c)
	if c.ID != "a/b c" {
		t.Fatalf("id %q", c.ID)
	}
	f.get("/conversations/unknown", opToken).wantError(t, http.StatusNotFound, "not_found", "")
	f.get("/conversations/unknown/messages", opToken).wantError(t, http.StatusNotFound, "not_found", "")
	f.get("/conversations/"+strings.Repeat("x", admin.MaxValueBytes+1), opToken).
		wantError(t, http.StatusBadRequest, "invalid_field", "id")
	f.get("/conversations/a%2Fb%20c?limit=3", opToken).wantError(t, http.StatusBadRequest, "invalid_field", "limit")
}

func TestListBadValues(t *testing.T) {
	f := newFixture(t, nil)
	f.conv(storage.Conversation{ID: "c1", CreatedAt: t0})
	cases := []struct{ query, field string }{
		{"status=open", "status"},
		{"status=", ""}, // empty means absent: not an error
		{"mode=human", "mode"},
		{"mode=AI", "mode"},
		{"needs_help=false", "needs_help"},
		{"needs_help=yes", "needs_help"},
		{"needs_help=true&mode=ai", "needs_help"},
		{"operator_assisted=yes", "operator_assisted"},
		{"operator_assisted=1", "operator_assisted"},
		{"created_from=yesterday", "created_from"},
		{"created_before=2030-01-02", "created_before"},
		{"created_from=" + rfc(at(10)) + "&created_before=" + rfc(at(9)), "created_before"},
		{"sort=title", "sort"},
		{"order=up", "order"},
		{"limit=0", "limit"},
		{"limit=501", "limit"},
		{"limit=-1", "limit"},
		{"limit=ten", "limit"},
		{"cursor=not-a-cursor", "cursor"},
		{"sort_by=created", "sort_by"},
		{"user=a&user=b", "user"},
		{"user=" + strings.Repeat("u", admin.MaxValueBytes+1), "user"},
		{"cursor=" + strings.Repeat("A", admin.MaxCursorBytes+1), "cursor"},
		{"model=%FF", "model"},
	}
	for _, tc := range cases {
		t.Run(tc.query[:min(len(tc.query), 40)], func(t *testing.T) {
			r := f.get("/conversations?"+tc.query, opToken)
			if tc.field == "" {
				if r.status != http.StatusOK {
					t.Fatalf("%d %s", r.status, r.body)
				}
				return
			}
			r.wantError(t, http.StatusBadRequest, "invalid_field", tc.field)
		})
	}
	r := f.get("/conversations?user=%zz", opToken)
	r.wantError(t, http.StatusBadRequest, "invalid_field", "")
	// A cursor from another sort is refused, naming the cursor.
	var list admin.ConversationList
	f.conv(storage.Conversation{ID: "c2", CreatedAt: t0})
	f.getOK(t, "/conversations?limit=1&sort=created", &list)
	if list.NextCursor == "" {
		t.Fatal("no next cursor")
	}
	f.get("/conversations?limit=1&sort=messages&cursor="+url.QueryEscape(list.NextCursor), opToken).
		wantError(t, http.StatusBadRequest, "invalid_field", "cursor")
}
