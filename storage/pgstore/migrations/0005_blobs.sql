-- Blobs: the files attached to conversations, and their bytes in chunks.
-- New tables only: nothing existing is touched.

-- One row per blob. seq names the bytes of one put: chunks belong to it,
-- not to the (conversation_id, id) pair, so a reader of a blob deleted
-- and put again never reads the new put's chunks. A blob needs no
-- conversation row: the store of conversations and that of blobs may be
-- used apart.
CREATE TABLE IF NOT EXISTS blobs (
    seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    conversation_id text COLLATE "C" NOT NULL,
    id              text COLLATE "C" NOT NULL,
    user_id         text COLLATE "C" NOT NULL,
    name            text NOT NULL DEFAULT '',
    media_type      text NOT NULL,
    size            bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    PRIMARY KEY (conversation_id, id)
);

-- The listing order, (created_at, conversation_id, id): alone (a bound on
-- created_at), after a user, and after a conversation (where
-- conversation_id is constant).
CREATE INDEX IF NOT EXISTS blobs_created ON blobs (created_at, conversation_id, id);
CREATE INDEX IF NOT EXISTS blobs_user_created ON blobs (user_id, created_at, conversation_id, id);
CREATE INDEX IF NOT EXISTS blobs_conversation_created ON blobs (conversation_id, created_at, id);

-- A blob's bytes, in chunks numbered from 0, each of 256 KiB but the
-- last; deleted with their blob.
CREATE TABLE IF NOT EXISTS blob_chunks (
    blob_seq bigint NOT NULL REFERENCES blobs (seq) ON DELETE CASCADE,
    n        integer NOT NULL,
    data     bytea NOT NULL,
    PRIMARY KEY (blob_seq, n)
);
