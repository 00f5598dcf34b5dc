package storagetest

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// at returns a whole-millisecond UTC time ms milliseconds after the instant
// every fixture is placed after.
func at(ms int) time.Time {
	return time.Date(2031, time.March, 4, 5, 6, 7, 0, time.UTC).Add(time.Duration(ms) * time.Millisecond)
}

// conv returns a complete active conversation created at(ms).
func conv(id, user string, ms int) storage.Conversation {
	return storage.Conversation{
		ID:        id,
		UserID:    user,
		Title:     "title of " + id,
		Model:     "model-a",
		Status:    storage.StatusActive,
		Metadata:  map[string]string{"source": "storagetest", "conv": id},
		CreatedAt: at(ms),
		UpdatedAt: at(ms),
	}
}

// msg returns a complete user message created at(ms).
func msg(convID, id string, ms int) storage.Message {
	return storage.Message{
		ID:             id,
		ConversationID: convID,
		Role:           storage.RoleUser,
		Text:           "text of " + id,
		Status:         storage.MessageComplete,
		CreatedAt:      at(ms),
		UpdatedAt:      at(ms),
	}
}

func mustCreate(t *testing.T, st storage.Store, cs ...storage.Conversation) {
	t.Helper()
	for _, c := range cs {
		if err := st.CreateConversation(t.Context(), c); err != nil {
			t.Fatalf("CreateConversation(%q): %v", c.ID, err)
		}
	}
}

func mustAppend(t *testing.T, st storage.Store, ms ...storage.Message) {
	t.Helper()
	for _, m := range ms {
		if _, created, err := st.AppendMessage(t.Context(), m); err != nil || !created {
			t.Fatalf("AppendMessage(%q, %q) = created %v, %v; want created, nil", m.ConversationID, m.ID, created, err)
		}
	}
}

func mustGetConv(t *testing.T, st storage.Store, id string) storage.Conversation {
	t.Helper()
	c, err := st.GetConversation(t.Context(), id)
	if err != nil {
		t.Fatalf("GetConversation(%q): %v", id, err)
	}
	return c
}

func mustGetMsg(t *testing.T, st storage.Store, convID, id string) storage.Message {
	t.Helper()
	m, err := st.GetMessage(t.Context(), convID, id)
	if err != nil {
		t.Fatalf("GetMessage(%q, %q): %v", convID, id, err)
	}
	return m
}

// wantIs reports an error unless errors.Is(err, target).
func wantIs(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v, want errors.Is(err, %v)", what, err, target)
	}
}

// ms renders a time truncated to the millisecond in UTC.
func ms(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return t.Truncate(time.Millisecond).UTC().Format(time.RFC3339Nano)
}

// sameTime compares times the way the suite documents.
func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond))
}

// convView and msgView are comparable renderings of stored records. A
// conversation's view leaves Stats out: the tests of statistics check them.
type convView struct {
	ID, UserID, Title, Model string
	Status                   storage.ConversationStatus
	Metadata                 string
	CreatedAt, UpdatedAt     string
	EndedAt                  string
	Mode                     storage.Mode
	Operator                 string
	ModeChangedAt            string
}

func viewConv(c storage.Conversation) convView {
	keys := slices.Sorted(maps.Keys(c.Metadata))
	var md strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&md, "%q=%q;", k, c.Metadata[k])
	}
	return convView{c.ID, c.UserID, c.Title, c.Model, c.Status, md.String(),
		ms(c.CreatedAt), ms(c.UpdatedAt), ms(c.EndedAt), c.Mode, c.Operator, ms(c.ModeChangedAt)}
}

type msgView struct {
	storage.Message
	CreatedAt, UpdatedAt string
	// PartViews replaces Message.Parts: nil when the message has no parts,
	// however a backend reads them back.
	PartViews []partView
}

// partView is a comparable rendering of a stored part, its time truncated
// to the millisecond like every other time of the suite.
type partView struct {
	storage.Part
	ApprovalExpiresAt string
}

func viewMsg(m storage.Message) msgView {
	v := msgView{Message: m, CreatedAt: ms(m.CreatedAt), UpdatedAt: ms(m.UpdatedAt)}
	v.Message.CreatedAt, v.Message.UpdatedAt, v.Message.Parts = time.Time{}, time.Time{}, nil
	for _, p := range m.Parts {
		pv := partView{Part: p, ApprovalExpiresAt: ms(p.ApprovalExpiresAt)}
		pv.Part.ApprovalExpiresAt = time.Time{}
		v.PartViews = append(v.PartViews, pv)
	}
	return v
}

// checkConv compares got with want, whose empty Mode stands for
// storage.ModeAI: a store reads an empty stored mode back as ModeAI.
func checkConv(t *testing.T, what string, got, want storage.Conversation) {
	t.Helper()
	want.Mode = want.Mode.Normalize()
	if g, w := viewConv(got), viewConv(want); g != w {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// checkMsg compares got with want: every field, parts included, in order
// (no parts and an empty slice of parts are equal), times to the
// millisecond. Differing parts are reported one by one.
func checkMsg(t *testing.T, what string, got, want storage.Message) {
	t.Helper()
	g, w := viewMsg(got), viewMsg(want)
	if reflect.DeepEqual(g, w) {
		return
	}
	gp, wp := g.PartViews, w.PartViews
	g.PartViews, w.PartViews = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
	if len(gp) != len(wp) {
		t.Errorf("%s: %d parts, want %d", what, len(gp), len(wp))
	}
	reported := 0
	for i := range min(len(gp), len(wp)) {
		if gp[i] != wp[i] {
			if reported++; reported > 5 {
				t.Errorf("%s: more parts differ", what)
				break
			}
			t.Errorf("%s: part %d:\n got %+v\nwant %+v", what, i, gp[i], wp[i])
		}
	}
}

// byKey orders records the way listings do, ascending.
func convKeyCmp(a, b storage.Conversation) int {
	return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
}

func msgKeyCmp(a, b storage.Message) int {
	return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
}

// shuffled returns a deterministic permutation of xs.
func shuffled[T any](xs []T, seed uint64) []T {
	out := slices.Clone(xs)
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// chunk splits ids into pages of n; no ids give one empty page.
func chunk(ids []string, n int) [][]string {
	if len(ids) == 0 {
		return [][]string{{}}
	}
	var pages [][]string
	for len(ids) > 0 {
		k := min(n, len(ids))
		pages = append(pages, ids[:k])
		ids = ids[k:]
	}
	return pages
}

// checkPages compares the pages a listing returned with the ids it should
// have returned, split into pages of limit (after clamping).
func checkPages(t *testing.T, what string, got [][]string, want []string, limit int) {
	t.Helper()
	wantPages := chunk(want, storage.ClampLimit(limit))
	if reflect.DeepEqual(got, wantPages) {
		return
	}
	flat := slices.Concat(got...)
	seen := make(map[string]int)
	for _, id := range flat {
		seen[id]++
	}
	var dups []string
	for id, n := range seen {
		if n > 1 {
			dups = append(dups, id)
		}
	}
	var missing []string
	for _, id := range want {
		if seen[id] == 0 {
			missing = append(missing, id)
		}
	}
	sizes := make([]int, len(got))
	for i, p := range got {
		sizes[i] = len(p)
	}
	wantSizes := make([]int, len(wantPages))
	for i, p := range wantPages {
		wantSizes[i] = len(p)
	}
	t.Errorf("%s: pages differ: %d ids returned, want %d; duplicated %v; missing %v; page sizes %v, want %v; order correct: %v",
		what, len(flat), len(want), head(dups), head(missing), head(sizes), head(wantSizes), slices.Equal(flat, want))
}

// head shortens long slices in failure messages.
func head[T any](xs []T) []T {
	if len(xs) > 20 {
		return xs[:20]
	}
	return xs
}

// listConvPages walks every page of q, returning the ids of each page. It
// gives up after maxPages pages so a cursor that never ends fails the test
// instead of hanging it.
func listConvPages(t *testing.T, st storage.Store, q storage.ConversationQuery, maxPages int) [][]string {
	t.Helper()
	var pages [][]string
	for range maxPages {
		page, err := st.ListConversations(t.Context(), q)
		if err != nil {
			t.Fatalf("ListConversations(%+v) after %d pages: %v", q, len(pages), err)
		}
		ids := make([]string, 0, len(page.Conversations))
		for _, c := range page.Conversations {
			ids = append(ids, c.ID)
		}
		pages = append(pages, ids)
		if page.NextCursor == "" {
			return pages
		}
		q.Cursor = page.NextCursor
	}
	t.Fatalf("ListConversations(%+v): still returning a cursor after %d pages", q, maxPages)
	return nil
}

// listMsgPages is listConvPages for messages.
func listMsgPages(t *testing.T, st storage.Store, q storage.MessageQuery, maxPages int) [][]string {
	t.Helper()
	var pages [][]string
	for range maxPages {
		page, err := st.ListMessages(t.Context(), q)
		if err != nil {
			t.Fatalf("ListMessages(%+v) after %d pages: %v", q, len(pages), err)
		}
		ids := make([]string, 0, len(page.Messages))
		for _, m := range page.Messages {
			ids = append(ids, m.ID)
		}
		pages = append(pages, ids)
		if page.NextCursor == "" {
			return pages
		}
		q.Cursor = page.NextCursor
	}
	t.Fatalf("ListMessages(%+v): still returning a cursor after %d pages", q, maxPages)
	return nil
}

func convIDs(cs []storage.Conversation) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

func msgIDs(ms []storage.Message) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

// newestFirst returns the ids of cs in listing order, newest first.
func newestFirst(cs []storage.Conversation) []string {
	sorted := slices.Clone(cs)
	slices.SortFunc(sorted, func(a, b storage.Conversation) int { return convKeyCmp(b, a) })
	return convIDs(sorted)
}

// inOrder returns the ids of ms in listing order for o.
func inOrder(ms []storage.Message, o storage.Order) []string {
	sorted := slices.Clone(ms)
	slices.SortFunc(sorted, msgKeyCmp)
	if o == storage.Descending {
		slices.Reverse(sorted)
	}
	return msgIDs(sorted)
}

// badCursors returns strings no backend can have issued.
func badCursors() []string { return []string{"%%%", "!!not a cursor!!", "\x00\xff", "{"} }

// errorsIsAny reports whether err matches one of targets.
func errorsIsAny(err error, targets ...error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
