package admin_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chatboxsdk/chatbox/admin"
	"github.com/chatboxsdk/chatbox/storage"
)

// auditLog holds eight entries, a0 oldest; a3 and a4 share a time.
func auditLog(f *fixture) {
	for _, e := range []storage.AuditEntry{
		{ID: "a0", At: at(0), Actor: "u-1", Action: storage.AuditHelpRequest, ConversationID: "c1"},
		{ID: "a1", At: at(1), Actor: "op-1", Action: storage.AuditTakeover, ConversationID: "c1", Detail: "from waiting"},
		{ID: "a2", At: at(2), Actor: "op-1", Action: storage.AuditRelease, ConversationID: "c1"},
		{ID: "a3", At: at(3), Actor: "op-2", Action: storage.AuditTakeover, ConversationID: "c2"},
		{ID: "a4", At: at(3), Actor: "u-2", Action: storage.AuditHelpRequest, ConversationID: "c3"},
		{ID: "a5", At: at(4), Actor: "op-2", Action: storage.AuditEnd, ConversationID: "c2"},
		{ID: "a6", At: at(5), Actor: "op-1", Action: storage.AuditTakeover, ConversationID: "c3"},
		{ID: "a7", At: at(6), Actor: "op-1", Action: storage.AuditEnd, ConversationID: "c3"},
	} {
		f.audit(e)
	}
}

// auditIDs pages through /audit?query and returns the entry ids.
func auditIDs(t *testing.T, f *fixture, query string) []string {
	t.Helper()
	var got []string
	cursor := ""
	for pages := 0; pages < 20; pages++ {
		target := "/audit?" + query
		if cursor != "" {
			target += "&cursor=" + url.QueryEscape(cursor)
		}
		var page admin.AuditList
		f.getOK(t, target, &page)
		for _, e := range page.Entries {
			got = append(got, e.ID)
		}
		if page.NextCursor == "" {
			return got
		}
		cursor = page.NextCursor
	}
	t.Fatal("the audit listing does not end")
	return nil
}

func TestAuditListing(t *testing.T) {
	f := newFixture(t, nil)
	auditLog(f)
	cases := []struct {
		query string
		want  []string // newest first
	}{
		{"", []string{"a7", "a6", "a5", "a4", "a3", "a2", "a1", "a0"}},
		{"limit=3", []string{"a7", "a6", "a5", "a4", "a3", "a2", "a1", "a0"}},
		{"conversation=c1", []string{"a2", "a1", "a0"}},
		{"actor=op-1", []string{"a7", "a6", "a2", "a1"}},
		{"action=takeover", []string{"a6", "a3", "a1"}},
		{"action=help_request", []string{"a4", "a0"}},
		{"action=unknown_action", []string{}},
		{"from=" + rfc(at(3)), []string{"a7", "a6", "a5", "a4", "a3"}},
		{"before=" + rfc(at(3)), []string{"a2", "a1", "a0"}},
		{"from=" + rfc(at(2)) + "&before=" + rfc(at(5)), []string{"a5", "a4", "a3", "a2"}},
		{"actor=op-1&action=end", []string{"a7"}},
		{"conversation=c3&actor=op-1&limit=1", []string{"a7", "a6"}},
		{"conversation=c2&action=end&from=" + rfc(at(4)) + "&before=" + rfc(at(5)), []string{"a5"}},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			got := auditIDs(t, f, tc.query)
			if got == nil {
				got = []string{}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}

	var page admin.AuditList
	f.getOK(t, "/audit?limit=1&actor=op-1&action=takeover&conversation=c1", &page)
	want := admin.AuditEntry{ID: "a1", At: at(1), Actor: "op-1", Action: "takeover", ConversationID: "c1", Detail: "from waiting"}
	if len(page.Entries) != 1 || page.Entries[0] != want {
		t.Fatalf("got %+v, want %+v", page.Entries, want)
	}
}

func TestAuditBadValues(t *testing.T) {
	f := newFixture(t, nil)
	auditLog(f)
	cases := []struct{ query, field string }{
		{"action=Takeover", "action"},
		{"action=take-over", "action"},
		{"action=" + strings.Repeat("a", 65), "action"},
		{"from=today", "from"},
		{"from=" + rfc(at(5)) + "&before=" + rfc(at(1)), "before"},
		{"limit=1000", "limit"},
		{"cursor=%21%21", "cursor"},
		{"user=op-1", "user"},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			f.get("/audit?"+tc.query, opToken).wantError(t, http.StatusBadRequest, "invalid_field", tc.field)
		})
	}
}
