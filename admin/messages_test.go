package admin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/admin"
	"github.com/chatboxsdk/chatbox/storage"
)

// transcript pages through a conversation's messages with query and
// returns their ids.
func transcript(t *testing.T, f *fixture, conv, query string) []string {
	t.Helper()
	var got []string
	cursor := ""
	for pages := 0; pages < 100; pages++ {
		target := "/conversations/" + conv + "/messages?" + query
		if cursor != "" {
			target += "&cursor=" + url.QueryEscape(cursor)
		}
		var page admin.MessageList
		f.getOK(t, target, &page)
		for _, m := range page.Messages {
			got = append(got, m.ID)
		}
		if page.NextCursor == "" {
			return got
		}
		cursor = page.NextCursor
	}
	t.Fatal("the transcript does not end")
	return nil
}

func TestTranscriptPaging(t *testing.T) {
	f := newFixture(t, nil)
	f.conv(storage.Conversation{ID: "c1", CreatedAt: t0})
	f.conv(storage.Conversation{ID: "other", CreatedAt: t0})
	var want []string
	for i := range 23 {
		id := fmt.Sprintf("m%02d", i)
		// Pairs share a creation time: the order falls back to the id.
		f.msg(storage.Message{ID: id, ConversationID: "c1", Role: storage.RoleUser, Text: id,
			CreatedAt: t0.Add(time.Duration(i/2) * time.Second)})
		want = append(want, id)
	}
	f.msg(storage.Message{ID: "x", ConversationID: "other", Role: storage.RoleUser, CreatedAt: t0})

	if got := transcript(t, f, "c1", "limit=5"); !slices.Equal(got, want) {
		t.Fatalf("asc, 5 a page:\n got %v\nwant %v", got, want)
	}
	if got := transcript(t, f, "c1", ""); !slices.Equal(got, want) {
		t.Fatalf("default (asc, one page):\n got %v\nwant %v", got, want)
	}
	rev := slices.Clone(want)
	slices.Reverse(rev)
	if got := transcript(t, f, "c1", "limit=4&order=desc"); !slices.Equal(got, rev) {
		t.Fatalf("desc, 4 a page:\n got %v\nwant %v", got, rev)
	}
	var page admin.MessageList
	f.getOK(t, "/conversations/c1/messages?limit=22", &page)
	if len(page.Messages) != 22 || page.NextCursor == "" {
		t.Fatalf("limit 22: %d messages, cursor %q", len(page.Messages), page.NextCursor)
	}

	f.get("/conversations/nope/messages", opToken).wantError(t, http.StatusNotFound, "not_found", "")
	f.get("/conversations/c1/messages?cursor=zzz", opToken).wantError(t, http.StatusBadRequest, "invalid_field", "cursor")
	f.get("/conversations/c1/messages?limit=0", opToken).wantError(t, http.StatusBadRequest, "invalid_field", "limit")
	f.get("/conversations/c1/messages?order=newest", opToken).wantError(t, http.StatusBadRequest, "invalid_field", "order")
	f.get("/conversations/c1/messages?status=active", opToken).wantError(t, http.StatusBadRequest, "invalid_field", "status")
	// A cursor of the ascending listing does not continue the descending one.
	f.getOK(t, "/conversations/c1/messages?limit=5", &page)
	f.get("/conversations/c1/messages?order=desc&cursor="+url.QueryEscape(page.NextCursor), opToken).
		wantError(t, http.StatusBadRequest, "invalid_field", "cursor")
}

func TestMessageShape(t *testing.T) {
	f := newFixture(t, nil)
	f.conv(storage.Conversation{ID: "c1", CreatedAt: t0})
	f.msg(storage.Message{ID: "q", ConversationID: "c1", Role: storage.RoleUser, Text: "Where is my refund?", CreatedAt: at(1)})
	f.reply("c1", "a", at(2), 2200*time.Millisecond, 406, 115)
	f.msg(storage.Message{ID: "s", ConversationID: "c1", Role: storage.RoleAssistant, Status: storage.MessageStreaming,
		ReplyTo: "q", CreatedAt: at(3), UpdatedAt: at(3)})

	var page admin.MessageList
	f.getOK(t, "/conversations/c1/messages", &page)
	if len(page.Messages) != 3 {
		t.Fatalf("%d messages", len(page.Messages))
	}
	q, a, s := page.Messages[0], page.Messages[1], page.Messages[2]
	if q.Role != "user" || q.Text != "Where is my refund?" || q.Status != "complete" || !q.CreatedAt.Equal(at(1)) {
		t.Fatalf("user message %+v", q)
	}
	wantA := admin.Message{ID: "a", Role: "assistant", Text: "answer a", Status: "complete", FinishReason: "stop",
		Model: "model-a", Usage: admin.Usage{InputTokens: 406, OutputTokens: 115},
		CreatedAt: at(2), UpdatedAt: at(2).Add(2200 * time.Millisecond)}
	if a.ID != wantA.ID || a.Role != wantA.Role || a.Text != wantA.Text || a.Status != wantA.Status ||
		a.FinishReason != wantA.FinishReason || a.Model != wantA.Model || a.Usage != wantA.Usage ||
		!a.CreatedAt.Equal(wantA.CreatedAt) || !a.UpdatedAt.Equal(wantA.UpdatedAt) {
		t.Fatalf("reply\n got %+v\nwant %+v", a, wantA)
	}
	if s.Status != "streaming" || s.ReplyTo != "q" || s.FinishReason != "" {
		t.Fatalf("streaming reply %+v", s)
	}

	// Empty fields are left out of the JSON.
	r := f.get("/conversations/c1/messages?limit=1", opToken)
	var raw struct {
		Messages []map[string]any `json:"messages"`
	}
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"finish_reason", "error", "model", "reply_to", "usage"} {
		if _, ok := raw.Messages[0][k]; ok {
			t.Errorf("user message has %s: %s", k, r.body)
		}
	}
}
