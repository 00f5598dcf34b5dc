package storagetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// blobFixture puts blobs of three conversations and two users, with ties
// in CreatedAt, some marked sent, and returns them as stored.
func blobFixture(t *testing.T, st storage.BlobStore) []storage.Blob {
	t.Helper()
	specs := []struct {
		conv, id, user string
		ms             int
		sent           bool
	}{
		{"c1", "a", "u1", 0, false},
		{"c1", "b", "u1", 10, true},
		{"c1", "c", "u1", 10, false},
		{"c1", "d", "u1", 20, false},
		{"c1", "other", "u2", 10, false},
		{"c2", "a", "u1", 10, false},
		{"c2", "b", "u1", 5, false},
		{"c2", "z", "u1", 30, true},
		{"c3", "a", "u2", 10, true},
		{"c3", "b", "u2", 0, false},
		{"c3", "e", "u2", 40, false},
	}
	var blobs []storage.Blob
	for i, sp := range shuffled(specs, 7) {
		b := blob(sp.conv, sp.id, sp.user, sp.ms)
		b.MediaType = []string{"image/png", "application/pdf", "text/plain"}[i%3]
		data := content(uint64(i), i*10)
		mustPut(t, st, b, data)
		b.Size = int64(len(data))
		if sp.sent {
			if err := st.MarkBlobSent(t.Context(), sp.conv, sp.id, at(1000+i)); err != nil {
				t.Fatalf("MarkBlobSent(%q, %q): %v", sp.conv, sp.id, err)
			}
			b.SentAt = at(1000 + i)
		}
		blobs = append(blobs, b)
	}
	slices.SortFunc(blobs, storage.CompareBlobs)
	return blobs
}

// describeBlobQuery names q's filters and limit, for subtests and logs.
func describeBlobQuery(q storage.BlobQuery) string {
	var parts []string
	if q.ConversationID != "" {
		parts = append(parts, "conversation="+q.ConversationID)
	}
	if q.UserID != "" {
		parts = append(parts, "user="+q.UserID)
	}
	if q.Unsent {
		parts = append(parts, "unsent")
	}
	if !q.CreatedBefore.IsZero() {
		parts = append(parts, fmt.Sprintf("before=%dms", q.CreatedBefore.Sub(at(0)).Milliseconds()))
	}
	if q.Limit != 0 {
		parts = append(parts, fmt.Sprintf("limit=%d", q.Limit))
	}
	return strings.Join(parts, ",")
}

// matchingBlobs returns the blobs q selects, in listing order.
func matchingBlobs(blobs []storage.Blob, q storage.BlobQuery) []storage.Blob {
	var out []storage.Blob
	for _, b := range blobs {
		if (q.ConversationID == "" || b.ConversationID == q.ConversationID) &&
			(q.UserID == "" || b.UserID == q.UserID) &&
			(!q.Unsent || b.SentAt.IsZero()) &&
			(q.CreatedBefore.IsZero() || b.CreatedAt.Before(q.CreatedBefore)) {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, storage.CompareBlobs)
	return out
}

func (s blobSuite) testBlobList(t *testing.T) {
	st := s.store(t)
	blobs := blobFixture(t, st)
	queries := []storage.BlobQuery{
		{ConversationID: "c1"},
		{ConversationID: "c2"},
		{UserID: "u1"},
		{UserID: "u2"},
		{ConversationID: "c1", UserID: "u2"},
		{ConversationID: "c1", UserID: "u9"},
		{UserID: "u1", Unsent: true},
		{ConversationID: "c3", Unsent: true},
		{CreatedBefore: at(10)},
		{CreatedBefore: at(11)},
		{CreatedBefore: at(10), Unsent: true},
		{ConversationID: "c1", CreatedBefore: at(20)},
		{UserID: "u2", CreatedBefore: at(40), Unsent: true},
		{CreatedBefore: at(1_000_000)},
		{CreatedBefore: at(0)},
		{ConversationID: "none"},
		{UserID: "none"},
	}
	for _, q := range queries {
		t.Run(describeBlobQuery(q), func(t *testing.T) {
			want := matchingBlobs(blobs, q)
			q.Limit = storage.MaxPageSize
			page, err := st.ListBlobs(t.Context(), q)
			if err != nil {
				t.Fatalf("ListBlobs(%+v): %v", q, err)
			}
			if page.NextCursor != "" {
				t.Errorf("ListBlobs(%+v): a cursor on the only page", q)
			}
			if g, w := blobKeys(page.Blobs), blobKeys(want); !slices.Equal(g, w) {
				t.Fatalf("ListBlobs(%+v) = %v, want %v", q, g, w)
			}
			for i := range want {
				checkBlob(t, "listed blob "+blobKey(want[i]), page.Blobs[i], want[i])
			}
		})
	}
}

func (s blobSuite) testBlobPaging(t *testing.T) {
	st := s.store(t)
	const n = 12
	var blobs []storage.Blob
	for i := range n {
		b := blob("c1", fmt.Sprintf("f%02d", n-i), "u1", i/3) // CreatedAt ties by threes, ids against it
		mustPut(t, st, b, []byte{byte(i)})
		b.Size = 1
		blobs = append(blobs, b)
	}
	want := blobKeys(matchingBlobs(blobs, storage.BlobQuery{ConversationID: "c1"}))
	t.Run("PagesAreFullWithoutGapsOrRepeats", func(t *testing.T) {
		for _, limit := range []int{1, 2, 3, 5, n - 1, n, n + 1, 0, storage.MaxPageSize + 1, -1} {
			for _, q := range []storage.BlobQuery{
				{ConversationID: "c1", Limit: limit},
				{UserID: "u1", Limit: limit},
				{CreatedBefore: at(1000), Limit: limit},
			} {
				pages, _ := listBlobPages(t, st, q, n+2)
				checkPages(t, "ListBlobs "+describeBlobQuery(q), pages, want, limit)
			}
		}
	})
	t.Run("CursorIsAPosition", func(t *testing.T) {
		q := storage.BlobQuery{ConversationID: "c1", Limit: 3}
		first, err := st.ListBlobs(t.Context(), q)
		if err != nil || first.NextCursor == "" {
			t.Fatalf("first page: %v, cursor %q", err, first.NextCursor)
		}
		// After the first page: a blob that sorts before the cursor, one
		// after every other, and the first blob of the next page deleted.
		before, after := blob("c1", "before", "u1", -1), blob("c1", "zlast", "u1", 100)
		mustPut(t, st, before, nil)
		mustPut(t, st, after, nil)
		if err := st.DeleteBlob(t.Context(), "c1", want[3][len("c1/"):]); err != nil {
			t.Fatal(err)
		}
		q.Cursor = first.NextCursor
		pages, _ := listBlobPages(t, st, q, n)
		expect := append(slices.Clone(want[4:]), "c1/zlast")
		checkPages(t, "the pages after the first", pages, expect, 3)
	})
}

func (s blobSuite) testBlobMany(t *testing.T) {
	st := s.store(t)
	n := s.manyBlobs
	blobs := make([]storage.Blob, n)
	began := time.Now()
	for k := range n {
		i := (k * 7919) % n // put in an order unrelated to the listing's
		conv := fmt.Sprintf("c%d", i%10)
		user := "u1"
		if i%10 >= 7 {
			user = "u2"
		}
		b := blob(conv, fmt.Sprintf("f%05d", n-i), user, i/3)
		b.Name = ""
		mustPut(t, st, b, []byte(conv))
		b.Size = int64(len(conv))
		if i%4 == 0 {
			if err := st.MarkBlobSent(t.Context(), b.ConversationID, b.ID, at(n+i)); err != nil {
				t.Fatal(err)
			}
			b.SentAt = at(n + i)
		}
		blobs[i] = b
	}
	t.Logf("%d blobs put in %v", n, time.Since(began).Round(time.Millisecond))
	for _, q := range []storage.BlobQuery{
		{CreatedBefore: at(n)},
		{UserID: "u2", Limit: 7},
		{ConversationID: "c3", Unsent: true, Limit: storage.MaxPageSize + 1},
		{UserID: "u1", CreatedBefore: at(n / 6), Limit: 100},
		{UserID: "u1", Unsent: true, Limit: storage.MaxPageSize},
	} {
		began := time.Now()
		want := matchingBlobs(blobs, q)
		pages, got := listBlobPages(t, st, q, n+2)
		checkPages(t, "ListBlobs "+describeBlobQuery(q), pages, blobKeys(want), q.Limit)
		if len(got) == len(want) {
			for i := range want {
				if viewBlob(got[i]) != viewBlob(want[i]) {
					checkBlob(t, "listed blob "+blobKey(want[i]), got[i], want[i])
					break
				}
			}
		}
		t.Logf("ListBlobs %s: %d blobs in %d pages in %v", describeBlobQuery(q), len(want), len(pages), time.Since(began).Round(time.Millisecond))
	}
}

func (s blobSuite) testBlobInvalidQuery(t *testing.T) {
	st := s.store(t)
	mustPut(t, st, blob("c1", "f", "u1", 0), []byte("x"))
	mustPut(t, st, blob("c1", "g", "u1", 1), []byte("x"))
	for _, q := range []storage.BlobQuery{{}, {Unsent: true}, {Limit: 10}, {Unsent: true, Limit: 1}} {
		_, err := st.ListBlobs(t.Context(), q)
		wantIs(t, err, storage.ErrInvalid, fmt.Sprintf("ListBlobs(%+v) without a filter", q))
	}
	page, err := st.ListBlobs(t.Context(), storage.BlobQuery{ConversationID: "c1", Limit: 1})
	if err != nil || page.NextCursor == "" {
		t.Fatalf("ListBlobs: %v, cursor %q", err, page.NextCursor)
	}
	_, err = st.ListBlobs(t.Context(), storage.BlobQuery{Cursor: page.NextCursor})
	wantIs(t, err, storage.ErrInvalid, "ListBlobs with a cursor and no filter")
	for _, c := range append(badCursors(), page.NextCursor[:len(page.NextCursor)/2]+"!", string(bytes.Repeat([]byte("A"), 5000))) {
		for _, q := range []storage.BlobQuery{{ConversationID: "c1", Cursor: c}, {UserID: "u1", Cursor: c}, {CreatedBefore: at(5), Cursor: c}} {
			_, err := st.ListBlobs(t.Context(), q)
			wantIs(t, err, storage.ErrInvalid, fmt.Sprintf("ListBlobs with the cursor %q", c))
		}
	}
}

func (s blobSuite) testBlobContext(t *testing.T) {
	st := s.store(t)
	b := blob("c1", "f", "u1", 0)
	mustPut(t, st, b, []byte("data"))
	b.Size = 4
	for _, tc := range deadContexts() {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx(t)
			what := func(m string) string { return m + " (" + tc.name + ")" }
			_, err := st.PutBlob(ctx, blob("c1", "new", "u1", 1), bytes.NewReader([]byte("x")), 10)
			wantIs(t, err, ctx.Err(), what("PutBlob"))
			_, rc, err := st.OpenBlob(ctx, "c1", "f")
			if rc != nil {
				rc.Close()
			}
			wantIs(t, err, ctx.Err(), what("OpenBlob"))
			wantIs(t, st.MarkBlobSent(ctx, "c1", "f", at(5)), ctx.Err(), what("MarkBlobSent"))
			wantIs(t, st.DeleteBlob(ctx, "c1", "f"), ctx.Err(), what("DeleteBlob"))
			_, err = st.ListBlobs(ctx, storage.BlobQuery{ConversationID: "c1"})
			wantIs(t, err, ctx.Err(), what("ListBlobs"))
			// Nothing changed.
			checkContent(t, st, what("after every method"), b, []byte("data"))
			wantAbsent(t, st, what("after PutBlob"), "c1", "new")
		})
	}
}
