package storagetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// DefaultLargeListing is the number of conversations the
// TenThousandConversations subtest pages through unless LargeListing says
// otherwise.
const DefaultLargeListing = 10_000

// testLargeListing creates largeListing conversations, most from
// concurrent writers, with creation times tied in fours; one in fifty gets
// messages, last activity and token usage, so the other sorts have long
// runs of ties broken by ID. Each sort is then paged through at the largest page size,
// in one direction each unless LargeListingEveryDirection asked for both
// (both directions of every sort are checked on a small data set): every
// conversation comes back exactly once, in the order of its key.
func (s suite) testLargeListing(t *testing.T) {
	largeListing := s.largeListing
	st := s.store(t)
	created := time.Now()
	// The conversations that get messages are written first, while the
	// store is small: some backends' point writes cost more as it grows.
	busy := func(i int) bool { return i%50 == 0 }
	for i := 0; i < largeListing; i += 50 {
		c := storage.Conversation{ID: fmt.Sprintf("c-%d", i), UserID: fmt.Sprintf("user-%d", i%3),
			Status: storage.StatusActive, CreatedAt: at(i / 4), UpdatedAt: at(i / 4)}
		mustCreate(t, st, c)
		k := i / 50
		for j := range k%4 + 1 {
			m := msg(c.ID, fmt.Sprintf("m-%d", j), 20_000+k%13+j)
			if j == 1 {
				m.Role, m.Usage = storage.RoleAssistant, storage.Usage{InputTokens: int64(k % 7 * 10), OutputTokens: int64(k % 3)}
			}
			mustAppend(t, st, m)
		}
	}
	const writers = 8
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := w; i < largeListing; i += writers {
				if busy(i) {
					continue
				}
				c := storage.Conversation{ID: fmt.Sprintf("c-%d", i), UserID: fmt.Sprintf("user-%d", i%3),
					Status: storage.StatusActive, CreatedAt: at(i / 4), UpdatedAt: at(i / 4)}
				if err := st.CreateConversation(t.Context(), c); err != nil {
					t.Errorf("CreateConversation(%q): %v", c.ID, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d conversations written in %v", largeListing, time.Since(created).Round(time.Millisecond))
	// One listing at a time: a backend that sorts without an index (the
	// MongoDB test server) must not see its pages time out under load.
	type listing struct {
		sort      storage.ConversationSort
		ascending bool
	}
	listings := []listing{
		{storage.SortByCreated, false},
		{storage.SortByUpdated, true},
		{storage.SortByMessages, false},
		{storage.SortByTokens, true},
	}
	if s.largeBothWays {
		for _, l := range listings[:4] {
			listings = append(listings, listing{l.sort, !l.ascending})
		}
	}
	for _, tc := range listings {
		name := fmt.Sprintf("sort %s, ascending %v", sorts[tc.sort].name, tc.ascending)
		began := time.Now()
		pages, err := pageThroughAll(t, st, largeListing, tc.sort, tc.ascending)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		t.Logf("%s: %d pages in %v", name, pages, time.Since(began).Round(time.Millisecond))
	}
}

// pageThroughAll lists every conversation of st by sort at the largest
// page size and checks that each of the largeListing conversations comes
// once, in order, in full pages, with the Total asked on the first page.
func pageThroughAll(t *testing.T, st storage.Store, largeListing int, sort storage.ConversationSort, ascending bool) (int, error) {
	q := storage.ConversationQuery{Sort: sort, Ascending: ascending, Limit: storage.MaxPageSize, WithTotal: true}
	by := sortKeyCmp(sort)
	seen := make(map[string]bool, largeListing)
	var last *storage.Conversation
	pages := 0
	for {
		if pages > largeListing/storage.MaxPageSize+1 {
			return pages, fmt.Errorf("still returning a cursor after %d pages", pages)
		}
		page, err := st.ListConversations(t.Context(), q)
		if err != nil {
			return pages, fmt.Errorf("page %d: %w", pages+1, err)
		}
		pages++
		wantTotal := int64(-1)
		if q.WithTotal {
			wantTotal = int64(largeListing)
		}
		if page.Total != wantTotal {
			return pages, fmt.Errorf("page %d: Total %d, want %d (WithTotal %v)", pages, page.Total, wantTotal, q.WithTotal)
		}
		if page.NextCursor != "" && len(page.Conversations) != storage.MaxPageSize {
			return pages, fmt.Errorf("page %d holds %d conversations and has a cursor, want full pages", pages, len(page.Conversations))
		}
		for i := range page.Conversations {
			c := &page.Conversations[i]
			if seen[c.ID] {
				return pages, fmt.Errorf("%s listed twice (page %d)", c.ID, pages)
			}
			seen[c.ID] = true
			if last != nil {
				order := by(*last, *c)
				if !ascending {
					order = -order
				}
				if order >= 0 {
					return pages, fmt.Errorf("%s listed after %s, out of order (page %d)", c.ID, last.ID, pages)
				}
			}
			last = c
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor, q.WithTotal = page.NextCursor, false
	}
	if len(seen) != largeListing {
		return pages, fmt.Errorf("listed %d distinct conversations, want %d", len(seen), largeListing)
	}
	return pages, nil
}
