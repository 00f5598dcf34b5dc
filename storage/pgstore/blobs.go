package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/chatboxsdk/chatbox/storage"
)

var _ storage.BlobStore = (*Store)(nil)

// blobChunkSize is the size of every chunk of a blob but its last.
const blobChunkSize = 256 << 10

// kindBlobs marks blob cursors. Their key is the blob's created_at and
// their id its conversation id, preceded by its length as a uvarint,
// followed by its id.
const kindBlobs = 'b'

// storable reports whether PostgreSQL's text can hold every string of
// ss: valid UTF-8 without NUL. storage.Blob.Validate refuses blobs
// whose ids are not, so no stored blob has such an id.
func storable(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return false
		}
	}
	return true
}

// blobColumns are the columns scanBlob reads, in its order.
const blobColumns = `conversation_id, id, user_id, name, media_type, size, created_at, sent_at`

func scanBlob(row pgx.Row) (storage.Blob, error) {
	var (
		b    storage.Blob
		sent *time.Time
	)
	if err := row.Scan(&b.ConversationID, &b.ID, &b.UserID, &b.Name, &b.MediaType, &b.Size, &b.CreatedAt, &sent); err != nil {
		return storage.Blob{}, err
	}
	b.CreatedAt, b.SentAt = b.CreatedAt.UTC(), optTime(sent)
	return b, nil
}

// PutBlob implements storage.BlobStore in one transaction: it inserts
// the blob's row (unless its key exists: storage.ErrConflict, found
// before a byte is read; a put of the same key in a transaction still
// open waits for it), then a row per chunk of 256 KiB as the bytes are
// read, then the size, and commits. A failed or cancelled put rolls back
// and leaves nothing. The transaction holds a connection of the pool
// while the bytes are read: the caller's reader sets the pace.
//
// Beginning and inserting the row are retried as every statement of the
// Store is; once bytes are read the put cannot be repeated, so a failure
// then is returned at once, wrapping storage.ErrUnavailable when it is
// transient: the caller may put again.
func (s *Store) PutBlob(ctx context.Context, b storage.Blob, r io.Reader, maxBytes int64) (storage.Blob, error) {
	if err := ctx.Err(); err != nil {
		return storage.Blob{}, fmt.Errorf("pgstore: put blob: %w", err)
	}
	if err := b.Validate(); err != nil {
		return storage.Blob{}, fmt.Errorf("pgstore: put blob: %w", err)
	}
	lr, err := storage.LimitBlob(ctx, r, maxBytes)
	if err != nil {
		return storage.Blob{}, fmt.Errorf("pgstore: put blob %q: %w", b.ID, err)
	}
	op := fmt.Sprintf("put blob %q of conversation %q", b.ID, b.ConversationID)
	var (
		tx       pgx.Tx
		seq      int64
		conflict bool
	)
	insert := s.sql(`INSERT INTO @.blobs (conversation_id, id, user_id, name, media_type, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (conversation_id, id) DO NOTHING
		RETURNING seq, created_at`)
	err = s.do(ctx, op, func(actx context.Context) error {
		var err error
		if tx, err = s.pool.Begin(actx); err != nil {
			return err
		}
		err = tx.QueryRow(actx, insert, b.ConversationID, b.ID, b.UserID, b.Name, b.MediaType, b.CreatedAt).Scan(&seq, &b.CreatedAt)
		if conflict = errors.Is(err, pgx.ErrNoRows); conflict {
			err = nil
		}
		if err != nil {
			rollback(tx)
		}
		return err
	})
	if err != nil {
		return storage.Blob{}, err
	}
	defer rollback(tx) // a no-op after the commit
	if conflict {
		return storage.Blob{}, fmt.Errorf("pgstore: %s: already stored: %w", op, storage.ErrConflict)
	}
	fail := func(err error) (storage.Blob, error) {
		if ctx.Err() == nil && isTransient(err) {
			return storage.Blob{}, fmt.Errorf("pgstore: %s: %w: %w", op, storage.ErrUnavailable, err)
		}
		return storage.Blob{}, fmt.Errorf("pgstore: %s: %w", op, err)
	}
	insertChunk := s.sql("INSERT INTO @.blob_chunks (blob_seq, n, data) VALUES ($1, $2, $3)")
	buf := make([]byte, blobChunkSize)
	var size int64
	for n := 0; ; n++ {
		k, err := io.ReadFull(lr, buf)
		end := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !end {
			return fail(err)
		}
		if k > 0 {
			if err := s.exec(ctx, tx, insertChunk, seq, n, buf[:k]); err != nil {
				return fail(err)
			}
			size += int64(k)
		}
		if end {
			break
		}
	}
	if err := s.exec(ctx, tx, s.sql("UPDATE @.blobs SET size = $2 WHERE seq = $1"), seq, size); err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	actx, cancel := context.WithTimeout(ctx, s.cfg.operationTimeout)
	defer cancel()
	if err := tx.Commit(actx); err != nil {
		return fail(err)
	}
	b.Size, b.SentAt, b.CreatedAt = size, time.Time{}, b.CreatedAt.UTC()
	return b, nil
}

// exec runs one statement of tx under the operation timeout.
func (s *Store) exec(ctx context.Context, tx pgx.Tx, sql string, args ...any) error {
	actx, cancel := context.WithTimeout(ctx, s.cfg.operationTimeout)
	defer cancel()
	_, err := tx.Exec(actx, sql, args...)
	return err
}

// rollback ends tx, whatever the caller's context: a connection that
// cannot roll back is closed by pgx, which ends the transaction too.
func rollback(tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = tx.Rollback(ctx)
}

// OpenBlob implements storage.BlobStore. The reader reads one chunk per
// statement, each by its primary key, retried as every statement is and
// under ctx: keep ctx live while reading. It holds no connection
// between reads. It reads the chunks of the put it opened: if the blob
// is deleted meanwhile, a later read fails with storage.ErrNotFound.
func (s *Store) OpenBlob(ctx context.Context, conversationID, id string) (storage.Blob, io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return storage.Blob{}, nil, fmt.Errorf("pgstore: open blob: %w", err)
	}
	var (
		b   storage.Blob
		seq int64
	)
	if !storable(conversationID, id) {
		return storage.Blob{}, nil, fmt.Errorf("pgstore: blob %q of conversation %q: %w", id, conversationID, storage.ErrNotFound)
	}
	q := s.sql("SELECT seq, " + blobColumns + " FROM @.blobs WHERE conversation_id = $1 AND id = $2")
	err := s.do(ctx, "open blob", func(ctx context.Context) error {
		var (
			err  error
			sent *time.Time
		)
		err = s.pool.QueryRow(ctx, q, conversationID, id).Scan(&seq, &b.ConversationID, &b.ID, &b.UserID, &b.Name, &b.MediaType,
			&b.Size, &b.CreatedAt, &sent)
		b.CreatedAt, b.SentAt = b.CreatedAt.UTC(), optTime(sent)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Blob{}, nil, fmt.Errorf("pgstore: blob %q of conversation %q: %w", id, conversationID, storage.ErrNotFound)
	}
	if err != nil {
		return storage.Blob{}, nil, err
	}
	return b, &chunkReader{s: s, ctx: ctx, seq: seq, size: b.Size, conversationID: conversationID, id: id}, nil
}

// chunkReader reads a blob's chunks in order, one statement each.
type chunkReader struct {
	s              *Store
	ctx            context.Context
	seq            int64
	size           int64 // the blob's, as its row says
	conversationID string
	id             string
	next           int    // the next chunk
	read           int64  // bytes of the chunks read so far
	buf            []byte // what is left of the current chunk
	err            error  // sticky
	closed         bool
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		switch {
		case r.closed:
			return 0, errors.New("pgstore: read of a closed blob")
		case r.err != nil:
			return 0, r.err
		case r.read == r.size:
			return 0, io.EOF
		}
		r.err = r.fetch()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// fetch reads the next chunk.
func (r *chunkReader) fetch() error {
	q := r.s.sql("SELECT data FROM @.blob_chunks WHERE blob_seq = $1 AND n = $2")
	var data []byte
	err := r.s.do(r.ctx, "read blob", func(ctx context.Context) error {
		return r.s.pool.QueryRow(ctx, q, r.seq, r.next).Scan(&data)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("pgstore: blob %q of conversation %q: deleted while read: %w", r.id, r.conversationID, storage.ErrNotFound)
	}
	if err != nil {
		return err
	}
	if len(data) == 0 || r.read+int64(len(data)) > r.size || (len(data) != blobChunkSize && r.read+int64(len(data)) != r.size) {
		return fmt.Errorf("pgstore: blob %q of conversation %q: chunk %d holds %d bytes, which does not fit its size %d",
			r.id, r.conversationID, r.next, len(data), r.size)
	}
	r.buf = data
	r.next++
	r.read += int64(len(data))
	return nil
}

func (r *chunkReader) Close() error {
	r.closed, r.buf = true, nil
	return nil
}

// MarkBlobSent implements storage.BlobStore with one statement that sets
// sent_at only where it is NULL.
func (s *Store) MarkBlobSent(ctx context.Context, conversationID, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: mark blob sent: %w", err)
	}
	if at.IsZero() {
		return fmt.Errorf("pgstore: mark blob %q sent at a zero time: %w", id, storage.ErrInvalid)
	}
	if !storable(conversationID, id) {
		return fmt.Errorf("pgstore: blob %q of conversation %q: %w", id, conversationID, storage.ErrNotFound)
	}
	q := s.sql("UPDATE @.blobs SET sent_at = coalesce(sent_at, $3) WHERE conversation_id = $1 AND id = $2")
	var found bool
	err := s.do(ctx, "mark blob sent", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, q, conversationID, id, at)
		found = tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("pgstore: blob %q of conversation %q: %w", id, conversationID, storage.ErrNotFound)
	}
	return nil
}

// DeleteBlob implements storage.BlobStore with one statement; the chunks
// go with the row (ON DELETE CASCADE).
func (s *Store) DeleteBlob(ctx context.Context, conversationID, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: delete blob: %w", err)
	}
	if !storable(conversationID, id) {
		return nil
	}
	q := s.sql("DELETE FROM @.blobs WHERE conversation_id = $1 AND id = $2")
	return s.do(ctx, "delete blob", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, q, conversationID, id)
		return err
	})
}

// blobCursor encodes the position of b in blob listings.
func blobCursor(b storage.Blob) string {
	return encodeCursor(listing{kind: kindBlobs}, position{key: b.CreatedAt, id: pairID(b.ConversationID, b.ID)})
}

// decodeBlobCursor returns the blob position a cursor holds. Every
// problem wraps storage.ErrInvalid.
func decodeBlobCursor(c string) (storage.Blob, error) {
	p, err := decodeCursor(c, listing{kind: kindBlobs})
	if err != nil {
		return storage.Blob{}, err
	}
	conv, id, ok := splitPairID(p.id)
	if !ok || !storable(conv, id) {
		return storage.Blob{}, fmt.Errorf("pgstore: malformed cursor: %w", storage.ErrInvalid)
	}
	return storage.Blob{CreatedAt: p.key.(time.Time), ConversationID: conv, ID: id}, nil
}

// ListBlobs implements storage.BlobStore: one statement, ordered by
// (created_at, conversation_id, id) and starting after the cursor's row
// by a row comparison, served by the index of its filter (conversation,
// user, or creation alone), the cursor's condition included.
func (s *Store) ListBlobs(ctx context.Context, q storage.BlobQuery) (storage.BlobPage, error) {
	if err := ctx.Err(); err != nil {
		return storage.BlobPage{}, fmt.Errorf("pgstore: list blobs: %w", err)
	}
	pq, err := s.blobPage(q)
	if err != nil || pq.sql == "" {
		return storage.BlobPage{Blobs: []storage.Blob{}}, err
	}
	var blobs []storage.Blob
	err = s.do(ctx, "list blobs", func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, pq.sql, pq.args...)
		if err != nil {
			return err
		}
		blobs, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (storage.Blob, error) { return scanBlob(row) })
		return err
	})
	if err != nil {
		return storage.BlobPage{}, err
	}
	page := storage.BlobPage{Blobs: blobs}
	if page.Blobs == nil {
		page.Blobs = []storage.Blob{}
	}
	if limit := pq.limit; len(blobs) > limit {
		page.Blobs = blobs[:limit]
		page.NextCursor = blobCursor(blobs[limit-1])
	}
	return page, nil
}

// blobPageQuery is the statement of a page of blobs, its arguments, and
// the page's size (the statement asks for one row more).
type blobPageQuery struct {
	sql   string
	args  []any
	limit int
}

// blobPage returns the statement of the page q asks for; an empty one
// when no blob can match (an id PostgreSQL's text cannot hold).
func (s *Store) blobPage(q storage.BlobQuery) (blobPageQuery, error) {
	if err := q.Validate(); err != nil {
		return blobPageQuery{}, fmt.Errorf("pgstore: list blobs: %w", err)
	}
	var (
		after  storage.Blob
		cursor = q.Cursor != ""
	)
	if cursor {
		var err error
		if after, err = decodeBlobCursor(q.Cursor); err != nil {
			return blobPageQuery{}, err
		}
	}
	if !storable(q.ConversationID, q.UserID) {
		return blobPageQuery{}, nil // no blob has such an id
	}
	var (
		conds []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.ConversationID != "" {
		conds = append(conds, "conversation_id = "+arg(q.ConversationID))
	}
	if q.UserID != "" {
		conds = append(conds, "user_id = "+arg(q.UserID))
	}
	if q.Unsent {
		conds = append(conds, "sent_at IS NULL")
	}
	if !q.CreatedBefore.IsZero() {
		conds = append(conds, "created_at < "+arg(q.CreatedBefore))
	}
	switch {
	case !cursor:
	case q.ConversationID != "":
		// The conversation's index orders by (created_at, id): the rows
		// after the cursor's, whose conversation may be another, in its
		// terms.
		switch c := strings.Compare(q.ConversationID, after.ConversationID); {
		case c == 0:
			conds = append(conds, fmt.Sprintf("(created_at, id) > (%s, %s)", arg(after.CreatedAt), arg(after.ID)))
		case c > 0:
			conds = append(conds, "created_at >= "+arg(after.CreatedAt))
		default:
			conds = append(conds, "created_at > "+arg(after.CreatedAt))
		}
	default:
		conds = append(conds, fmt.Sprintf("(created_at, conversation_id, id) > (%s, %s, %s)",
			arg(after.CreatedAt), arg(after.ConversationID), arg(after.ID)))
	}
	limit := storage.ClampLimit(q.Limit)
	return blobPageQuery{
		sql: s.sql(fmt.Sprintf("SELECT %s FROM @.blobs WHERE %s ORDER BY created_at, conversation_id, id LIMIT %d",
			blobColumns, strings.Join(conds, " AND "), limit+1)),
		args:  args,
		limit: limit,
	}, nil
}
