package storagetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// queryFixture is a store holding conversations that differ in every
// field a query filters or sorts by, and the model of what it holds.
type queryFixture struct {
	st  storage.Store
	all []storage.Conversation // as the store should return them
}

// newQueryFixture writes 36 conversations through the Store's own methods:
// three owners, two models, creation times tied in threes, 0 to 4 messages
// (the first an operator's for every seventh), reply usage, last activity
// tied across conversations, every fourth ended, and every mode, including
// ModeAI after a release (stored "ai") and never changed (stored "").
func newQueryFixture(t *testing.T, st storage.Store) queryFixture {
	t.Helper()
	f := queryFixture{st: st}
	users := []string{"ann", "bob", "cy"}
	for i := range 36 {
		c := conv(fmt.Sprintf("c-%d", i), users[i%3], (i/3)*10)
		if i%4 >= 2 {
			c.Model = "model-b"
		}
		mustCreate(t, st, c)
		c.Mode = ai
		for j := range i % 5 {
			m := msg(c.ID, fmt.Sprintf("m-%d", j), 1000+(i%4)*10+j)
			switch {
			case j == 0 && i%7 == 0:
				m.Role = storage.RoleOperator
				c.Stats.OperatorAssisted = true
			case j > 0:
				m.Role = storage.RoleAssistant
				m.Usage = storage.Usage{InputTokens: int64(10 * (i % 2)), OutputTokens: 5}
			}
			mustAppend(t, st, m)
			c.Stats.MessageCount++
			c.Stats.Usage.InputTokens += m.Usage.InputTokens
			c.Stats.Usage.OutputTokens += m.Usage.OutputTokens
			c.UpdatedAt = m.CreatedAt
		}
		switch i % 6 {
		case 1:
			c = applyChange(t, st, c, change(c.ID, waiting, "", 2000, ai))
		case 2:
			c = applyChange(t, st, c, change(c.ID, operator, "op-1", 2000, ai))
		case 4:
			applyChange(t, st, c, change(c.ID, operator, "op-2", 2000, ai))
			c = applyChange(t, st, c, change(c.ID, ai, "op-2", 2001, operator))
		}
		if i%4 == 3 {
			if err := st.EndConversation(t.Context(), c.ID, at(3000)); err != nil {
				t.Fatal(err)
			}
			c.Status, c.EndedAt = storage.StatusEnded, at(3000)
		}
		f.all = append(f.all, c)
	}
	// The model must be what the store holds, or the listings cannot match.
	for _, want := range f.all {
		got := mustGetConv(t, st, want.ID)
		checkConv(t, "fixture conversation", got, want)
		if got.Stats.MessageCount != want.Stats.MessageCount || got.Stats.OperatorAssisted != want.Stats.OperatorAssisted ||
			got.Stats.Usage != want.Stats.Usage {
			t.Fatalf("fixture conversation %s: Stats %+v, want %+v", want.ID, got.Stats, want.Stats)
		}
	}
	return f
}

// applyChange applies c to conversation conv and returns conv as changed.
func applyChange(t *testing.T, st storage.Store, conv storage.Conversation, c storage.ModeChange) storage.Conversation {
	t.Helper()
	mustChange(t, st, c)
	conv.Mode, conv.Operator, conv.ModeChangedAt = c.To, "", c.At
	if c.To == operator {
		conv.Operator = c.Operator
	}
	return conv
}

// matching returns the fixture's conversations q's filters select.
func (f queryFixture) matching(q storage.ConversationQuery) []storage.Conversation {
	var out []storage.Conversation
	for _, c := range f.all {
		switch {
		case q.UserID != "" && c.UserID != q.UserID,
			q.Status != "" && c.Status != q.Status,
			q.Mode != "" && c.Mode != q.Mode.Normalize(),
			q.Model != "" && c.Model != q.Model,
			q.OperatorAssisted != nil && c.Stats.OperatorAssisted != *q.OperatorAssisted,
			!q.CreatedFrom.IsZero() && c.CreatedAt.Before(q.CreatedFrom),
			!q.CreatedBefore.IsZero() && !c.CreatedAt.Before(q.CreatedBefore):
			continue
		}
		out = append(out, c)
	}
	return out
}

// checkListing pages through q and compares every page, and the Total of
// every page, with the fixture.
func (f queryFixture) checkListing(t *testing.T, q storage.ConversationQuery) {
	t.Helper()
	matches := f.matching(q)
	want := listed(matches, q.Sort, q.Ascending)
	var pages [][]string
	for range len(f.all) + 2 {
		page, err := f.st.ListConversations(t.Context(), q)
		if err != nil {
			t.Fatalf("ListConversations(%s) after %d pages: %v", describe(q), len(pages), err)
		}
		wantTotal := int64(-1)
		if q.WithTotal {
			wantTotal = int64(len(matches))
		}
		if page.Total != wantTotal {
			t.Errorf("ListConversations(%s) page %d: Total %d, want %d", describe(q), len(pages)+1, page.Total, wantTotal)
		}
		pages = append(pages, convIDs(page.Conversations))
		if page.NextCursor == "" {
			checkPages(t, describe(q), pages, want, q.Limit)
			return
		}
		q.Cursor = page.NextCursor
	}
	t.Fatalf("ListConversations(%s): still returning a cursor after %d pages", describe(q), len(pages))
}

// describe renders a query for failure messages.
func describe(q storage.ConversationQuery) string {
	var b strings.Builder
	add := func(name string, v any) { fmt.Fprintf(&b, "%s=%v ", name, v) }
	if q.UserID != "" {
		add("UserID", q.UserID)
	}
	if q.Status != "" {
		add("Status", q.Status)
	}
	if q.Mode != "" {
		add("Mode", q.Mode)
	}
	if q.Model != "" {
		add("Model", q.Model)
	}
	if q.OperatorAssisted != nil {
		add("OperatorAssisted", *q.OperatorAssisted)
	}
	if !q.CreatedFrom.IsZero() {
		add("CreatedFrom", ms(q.CreatedFrom))
	}
	if !q.CreatedBefore.IsZero() {
		add("CreatedBefore", ms(q.CreatedBefore))
	}
	add("Sort", sorts[q.Sort%4].name)
	add("Ascending", q.Ascending)
	add("Limit", q.Limit)
	add("WithTotal", q.WithTotal)
	return strings.TrimSpace(b.String())
}

func ptr[T any](v T) *T { return &v }

// filterValues are the values the filter tests give each filter; the
// first of each is the zero value, which matches everything.
var filterValues = struct {
	users, models []string
	statuses      []storage.ConversationStatus
	modes         []storage.Mode
	assisted      []*bool
	ranges        [][2]time.Time
}{
	users:    []string{"", "ann", "bob", "nobody"},
	models:   []string{"", "model-a", "model-b", "model-z"},
	statuses: []storage.ConversationStatus{"", storage.StatusActive, storage.StatusEnded},
	modes:    []storage.Mode{"", ai, waiting, operator},
	assisted: []*bool{nil, ptr(true), ptr(false)},
	ranges: [][2]time.Time{{}, {at(30), time.Time{}}, {time.Time{}, at(60)}, {at(30), at(60)},
		{at(35), at(95)}, {at(0), at(1)}, {at(60), at(30)}},
}
