// Package pgstore is a storage.Store on PostgreSQL, through pgx
// (github.com/jackc/pgx/v5) and its connection pool.
//
// Conversations, messages and the audit log are three tables in a schema
// of their own (by default "chatbox", see WithSchema): a message is a row
// keyed by (conversation id, message id), so a conversation has no size
// ceiling and a listing never reads messages. Identifiers sort in byte
// order (COLLATE "C"), as the contract asks.
//
// A message's parts live in its row, in the jsonb column parts: an array
// in the message's order of objects with the keys kind, text, signature,
// call_id, name, arguments, is_error, error_code, approval,
// approval_expires_at (RFC 3339), approved_by, file_id, file_name and
// media_type, empty fields left out (kind excepted); NULL for a message
// without parts. jsonb cannot hold a NUL character, and JSON encoding
// would replace invalid UTF-8, so a part with either is refused with
// storage.ErrInvalid rather than stored altered. The cached and
// reasoning shares of a message's tokens are the columns
// cached_input_tokens and reasoning_tokens.
//
// # Schema and migrations
//
// The schema is created and upgraded by versioned migrations embedded in
// the package and recorded in the schema's schema_migrations table.
// Migrate applies the pending ones, in one transaction, under a
// PostgreSQL advisory lock, so several processes may call it at once;
// New applies them too with WithAutoMigrate(true), and otherwise refuses
// an outdated schema with ErrMigrationNeeded. Migrations only add
// (tables, columns, indexes): they never drop or rewrite data, and a
// migrated schema still serves the previous release. Migration 3 adds
// the parts and token columns; its columns have constant defaults, so
// PostgreSQL adds them without rewriting a row, and it is written with
// IF NOT EXISTS so that running it again changes nothing. Migration 4
// creates the usage tables and their indexes (see Usage), new objects
// only, with IF NOT EXISTS too; so does migration 5, the blob tables (see
// Blobs).
//
// # Indexes
//
// Messages by (conversation_id, created_at, id) for paging and by
// created_at for Aggregate; conversations by (created_at, id), (user_id,
// created_at, id), (user_id, updated_at, id), (status, created_at, id),
// (mode, created_at, id), (updated_at, id), (message_count, id) and
// (total_tokens, id), one per listing order, each read in either
// direction; audit entries by (at, id), (conversation_id, at, id), (actor,
// at, id) and (action, at). Every listing pages by keyset: a cursor holds
// the last row's (key, id) and the next page is an index range scan from
// a row comparison, never an OFFSET, so a deep page costs what the first
// one does.
//
// # Writes
//
// Every write is one statement, so it is atomic and a retry can never
// apply it twice:
//
//   - AppendMessage inserts the row unless its key exists (ON CONFLICT DO
//     NOTHING) and, in the same statement, counts it in its conversation
//     (message count, tokens, operator assistance, last activity). Each
//     call stamps its row with a random token, so a retry of an insert
//     whose acknowledgement was lost recognises it and still reports
//     created; another call's row reports created == false.
//   - UpdateMessage locks the old row, replaces the mutable fields and
//     moves the conversation's figures by the difference, in one
//     statement; the update that completes a streaming reply, or one
//     paused awaiting approval, records its response time on the row and
//     in the conversation (a reply that pauses and resumes counts once).
//   - ChangeMode is one conditional UPDATE holding the whole rule of
//     storage.ModeChange: PostgreSQL re-evaluates the condition on the
//     latest row after waiting for a concurrent writer, so of several
//     racing takeovers, through any number of processes, exactly one wins.
//
// The statistics of storage.ConversationStats live in the conversation's
// row, so listings sort and filter by them and reads never recompute
// them. Aggregate is one statement (one snapshot): counts and sums, and
// the response-time percentiles computed by the database with the
// percentile_disc ordered-set aggregate, whose rank ⌈f·n⌉ is
// storage.PercentileRank's nearest rank. No value list is loaded into the
// process.
//
// Times are stored with microsecond precision (a part's
// approval_expires_at, in JSON, with nanosecond precision); response
// times are whole microseconds.
//
// # Usage
//
// The Store is also a storage.UsageStore, on three tables that migration
// 4 adds: usage_rows, one row per (user, model, UTC day) with its sums,
// keyed by those three; usage_replies, the id (with user, model,
// conversation and time) of every reply counted; usage_reservations, the
// live budget reservations, keyed by (user, id).
//
//   - RecordUsage is one statement: it inserts the reply's id unless it is
//     there, and adds the reply to its row only if it inserted the id, so
//     the id and the sums are written together or not at all and an id is
//     counted once, however often and however concurrently it is
//     recorded.
//   - ListUsage pages by keyset from one of three indexes, (neg_day,
//     user_id, model), (user_id, neg_day, model) and (model, neg_day,
//     user_id), neg_day being the day negated (a generated column) so that
//     one ascending index gives the listing's order, newest day first then
//     user then model; a page starts from a row comparison, never an
//     OFFSET. SumUsage reads a user's rows of a period from the second.
//   - ReserveUsage runs a transaction that first takes a
//     transaction-level advisory lock on a hash of the schema and the
//     user, so the reservations of one user, through any number of
//     processes, are checked and added one after the other, each seeing
//     what the ones before it committed. Under the lock one statement
//     deletes the user's expired reservations and reads the live ones and
//     the tokens and cost recorded in each limit's period; the
//     reservation is inserted if every limit allows it. A record needs no
//     lock: one committed before a reservation's check is counted by it,
//     one committed after is a record made after the reservation.
//   - ReleaseReservation deletes the reservation and, in the same
//     statement, up to 100 reservations of any user that expired more
//     than a minute ago, so those of processes that stopped without
//     releasing them do not pile up.
//
// Expiry is judged by the clock of the process calling the Store, as the
// caller's ExpiresAt is.
//
// # Blobs
//
// The Store is also a storage.BlobStore, on two tables that migration 5
// adds: blobs, one row per blob keyed by (conversation_id, id), with its
// metadata and a seq column naming its put; blob_chunks, its bytes in
// bytea rows of 256 KiB keyed by (blob_seq, n), deleted with their blob
// (ON DELETE CASCADE). A blob needs no conversation row.
//
//   - PutBlob is one transaction: the blob's row first (a key that exists
//     is storage.ErrConflict before a byte is read), a chunk row per 256
//     KiB as the caller's reader gives them, the size, the commit. One
//     256 KiB buffer is all it holds; the transaction holds a connection
//     of the pool while it reads, so the reader sets its length. A
//     failed or cancelled put rolls back: nothing of it is ever visible.
//   - OpenBlob reads the row; its reader reads one chunk per statement, by
//     primary key, holding no connection between reads, under the
//     context OpenBlob was given. It reads the chunks of the seq it
//     opened, never those of a later put of the same key; a blob deleted
//     while read makes the next read fail with storage.ErrNotFound.
//   - MarkBlobSent is one UPDATE setting sent_at where it is NULL;
//     DeleteBlob one DELETE.
//   - ListBlobs pages by keyset on (created_at, conversation_id, id),
//     from the index (created_at, conversation_id, id),
//     (user_id, created_at, conversation_id, id) or
//     (conversation_id, created_at, id) that fits its filter.
//
// PostgreSQL may compress chunks (TOAST); files that are compressed
// already cost it the time of a failed attempt on their first kilobyte.
//
// # Failures
//
// Every attempt runs under the operation timeout (WithOperationTimeout).
// Transient failures (lost or refused connections, timeouts, serialization
// failures and deadlocks, a server shutting down, starting up or out of
// connections) are retried with exponential backoff and full jitter,
// within the caller's context, up to the configured number of attempts;
// the final error wraps storage.ErrUnavailable. Other errors are returned
// at once. A pool keeps working across a server restart: its broken
// connections fail their next statement, which is retried on a new one.
//
// # Retention
//
// The store keeps everything it is given. Deleting a conversation's row
// deletes its messages (ON DELETE CASCADE); a host that expires old
// conversations runs, on its own schedule, a statement such as
//
//	DELETE FROM chatbox.conversations WHERE updated_at < now() - interval '180 days';
//
// Blobs are kept apart from conversations too: a host that deletes a
// conversation deletes its blobs through ListBlobs and DeleteBlob, or with
// a statement such as
//
//	DELETE FROM chatbox.blobs WHERE conversation_id = $1;
//
// Usage is kept apart from conversations and outlives them. usage_replies
// grows by one row per reply; a host may delete its rows older than any
// retry can be (a reply recorded again after its id is deleted would
// count twice), and usage_rows older than its reports reach back, e.g.
//
//	DELETE FROM chatbox.usage_replies WHERE at < now() - interval '30 days';
package pgstore
