// Package mongostore is a storage.Store on MongoDB, through the official
// driver (go.mongodb.org/mongo-driver/v2).
//
// Conversations, messages and the audit log live in three collections (by
// default "conversations", "messages" and "audit" in database "chatbox"),
// so a conversation has no size ceiling and a listing never decodes
// messages. A message's _id is derived from its (conversation id, message
// id) pair, so a retried insert that already succeeded hits a duplicate key
// and is recognised: the store returns the stored message and never writes
// a second one. An audit entry's _id is its id, for the same reason.
//
// A message's parts are an array "parts" of subdocuments in the message's
// order, with the fields kind, text, signature, call_id, name, arguments,
// is_error, error_code, approval, approval_expires_at, approved_by,
// file_id, file_name and media_type; empty fields are left out (kind
// excepted), and a message without parts has no array. Its usage is
// input_tokens, output_tokens, cached_input_tokens and reasoning_tokens.
// Documents written before a field existed read it as empty.
//
// # Indexes
//
// New creates, idempotently, the indexes the Store's queries need:
// messages by (conversation_id, created_at, id) for paging and by
// (created_at, response_ms) for Aggregate; conversations by (created_at,
// _id), (user_id, created_at, _id), (status, created_at, _id), (mode,
// created_at, _id), (updated_at, _id), (message_count, _id) and
// (total_tokens, _id), one per listing order, each read in either
// direction; audit entries by (at, _id), (conversation_id, at, _id) and
// (actor, at, _id); blobs by (created_at, conversation_id, id),
// (user_id, created_at, conversation_id, id) and (conversation_id,
// created_at, id).
//
// # Modes
//
// ChangeMode is a single FindOneAndUpdate whose filter carries the whole
// transition rule (allowed modes, holder, not ended), never a read followed
// by a write, so racing takeovers through any number of Store instances
// have exactly one winner. A new conversation's mode is stored as "", and
// "", an absent field and "ai" all read, and filter, as storage.ModeAI.
//
// # Statistics
//
// Every conversation document carries its storage.ConversationStats,
// maintained with atomic update operators ($inc, $max, $min), never by
// read-modify-write: message_count, operator_assisted, input_tokens,
// output_tokens and their sum total_tokens (the key of
// storage.SortByTokens), cached_input_tokens, reasoning_tokens and, for
// replies that went from streaming (or awaiting approval) to complete,
// response_count, response_ms_total, response_ms_min and
// response_ms_max. A reply that pauses for approval and resumes counts
// once, when it completes. The completing update also stores the reply's
// response_ms on the message for Aggregate, which computes its
// percentiles with one count and, per percentile, one sorted query that
// skips to the rank: it never loads the response times. Counters are exact
// except after a write whose acknowledgement was lost in the network: the
// store cannot know whether it was applied, and may count it twice (token
// and response figures) or not at all (message_count, when the caller's
// retry finds the message already stored). Likewise, a call that fails
// after writing the message but before the figures that follow it leaves
// them uncounted, since its retry finds nothing left to change.
//
// Times are stored with millisecond precision, and response times are
// whole milliseconds.
//
// # Usage
//
// The Store is also a storage.UsageStore, on three more collections (by
// default usage_rows, usage_replies and usage_users; see
// WithUsageCollections), with single-document operations only, so on
// FerretDB and standalone servers too:
//
//   - A row document holds the sums of one (user, model, UTC day), under
//     an _id made of the three, and in the array "counted" the id of every
//     reply counted in it (so a row holds one id per reply of its user,
//     model and day). A reply document, keyed by the reply's id, is the
//     record as first stored. A user document holds a version counter,
//     the user's live reservations and the records being counted.
//   - RecordUsage writes the record into its user's document as pending,
//     inserts the reply document (a duplicate key: the stored reply is the
//     one counted), counts it in its row with one update conditional on
//     the row not having counted its id yet, then removes the pending
//     entry and increments the user's version. Only the conditional update
//     counts, at most once per id, so no crash, lost answer or retry
//     counts a reply twice; and a record stopped between the steps stays
//     pending until the next RecordUsage of its id, or ReserveUsage or
//     SumUsage of its user, finishes it, so none is dropped. The comment
//     at the top of usage.go gives the argument step by step.
//   - ReserveUsage is a compare-and-set on the user document: it reads the
//     document and the user's rows of the limits' periods and, if every
//     limit allows the reservation, writes the live reservations plus the
//     new one only if the version is still the one read. Releases and
//     records increment the version, so a write that would rest on a
//     stale read misses, and the reservation starts over (at most 100
//     times, with a random backoff of up to 50ms, then an error wrapping
//     storage.ErrUnavailable). Expired reservations are dropped by the
//     next reservation's write. Expiry is judged by the clock of the
//     process calling the Store.
//   - ListUsage sorts by (day descending, user_id, model) and pages from
//     the last row's position; the rows are indexed by (day, user_id,
//     model), (user_id, day, model) and (model, day, user_id), the second
//     also serving a user's rows of a period.
//
// On FerretDB 1.x with SQLite, which uses indexes for lookups by _id only,
// the conditional updates (a row's "counted" condition, a user's version)
// and the reads of rows by user or listing order read their whole
// collection: fine for tests and small deployments. On MongoDB every one
// of them is served by the _id index or the indexes above.
//
// # Blobs
//
// The Store is also a storage.BlobStore, on two more collections (by
// default blobs and blob_chunks; see WithBlobCollections), with
// single-document operations only. A blob document, under the _id its
// (conversation id, id) pair makes, holds the blob's fields, a state
// ("writing", "stored" or "deleting") and the random token of the put
// that wrote it; a chunk document holds 256 KiB of its bytes (the last
// chunk fewer) under the _id token/n, n in nine digits.
//
//   - PutBlob inserts the document "writing" (a duplicate _id is
//     storage.ErrConflict, before a byte is read), inserts the chunks as
//     the reader gives them, one 256 KiB buffer at a time, and ends with
//     one update, conditional on the token and the state "writing", that
//     sets the size and the state "stored": the blob exists from that
//     update on. A failed put deletes its chunks and document.
//   - OpenBlob reads a stored document; its reader reads one chunk per
//     query by _id, under the context OpenBlob was given. Chunks are
//     named by the put's token, so a reader never reads a later put's;
//     a blob deleted while read makes the next read fail with
//     storage.ErrNotFound.
//   - MarkBlobSent is one update conditional on sent_at being absent.
//   - DeleteBlob sets the state "deleting" (the blob is gone from then),
//     deletes the chunks, then the document; a DeleteBlob of a blob left
//     "deleting" finishes it.
//   - ListBlobs sorts the stored blobs by (created_at, conversation_id,
//     id), indexed alone, after user_id and after conversation_id, and
//     pages from the last blob's position.
//   - SweepBlobs removes what a process that stopped mid-put or
//     mid-delete left (documents still "writing" or "deleting" since a
//     given time, and their chunks); until then such a put's id is taken.
//
// Why not GridFS: the driver's GridFS upload stream holds a 16 MiB buffer
// per upload and inserts chunks 16 MiB at a time, and its download reads
// the chunks through one cursor whose batches reach 16 MiB, so neither
// streams in bounded memory; its files document is written last, so a
// second put of an id is found only after its bytes are stored, and
// uniqueness of (conversation, id) would rest on a unique index over
// metadata. Reading a chunk by _id is a lookup MongoDB serves from the
// _id index, one chunk in memory at a time.
//
// # Failures
//
// Every attempt runs under the operation timeout. Transient failures
// (network errors, timeouts, server selection failures, not-primary and
// shutdown codes, errors labelled retryable by the server) are retried
// with exponential backoff and full jitter, within the caller's context,
// up to the configured number of attempts; the final error wraps
// storage.ErrUnavailable. Other errors are returned at once.
//
// # MongoDB-compatible servers
//
// The store uses only single-document atomic operations, so it runs on
// MongoDB standalone servers, replica sets, and on FerretDB. FerretDB 1.x
// (with its SQLite backend, used by the tests) lacks TTL indexes: with
// WithRetentionTTL the store asks for them and, if the server refuses,
// logs a warning and runs without expiry (Store.RetentionEnforced reports
// which). FerretDB 1.x with SQLite also uses indexes only for lookups by
// _id (every point read and write of this store is one): a listing reads,
// filters and sorts the whole collection in memory, about 60µs per stored
// message on a small machine, so it suits tests and small deployments,
// not conversations of 100,000 messages. MongoDB serves listings from the
// indexes. Aggregate sums with $match and $group pipelines of one
// accumulator each, because FerretDB 1.x computes only the first
// accumulator of a $group.
package mongostore
