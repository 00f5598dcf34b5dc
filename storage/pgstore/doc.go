// Package pgstore is a storage.Store on PostgreSQL, through pgx
// (github.com/jackc/pgx/v5) and its connection pool.
//
// Conversations, messages and the audit log are three tables in a schema
// of their own (by default "chatbox", see WithSchema): a message is a row
// keyed by (conversation id, message id), so a conversation has no size
// ceiling and a listing never reads messages. Identifiers sort in byte
// order (COLLATE "C"), as the contract asks.
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
// migrated schema still serves the previous release.
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
//     statement; the update that completes a streaming reply records its
//     response time on the row and in the conversation.
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
// Times are stored with microsecond precision; response times are whole
// microseconds.
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
package pgstore
