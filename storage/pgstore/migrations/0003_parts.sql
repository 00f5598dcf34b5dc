-- Message parts (reasoning, tool calls and their results, files): a JSON
-- array in the message's order, NULL for a message without parts. The
-- cached share of a reply's input tokens and the reasoning share of its
-- output tokens, on the message and summed in its conversation.
--
-- A new column with a constant default is recorded in the catalog without
-- rewriting the table, so this runs in constant time on a large database;
-- existing rows read as having no parts and zero of the new counts. The
-- schema_migrations table applies it once; IF NOT EXISTS makes it
-- harmless to run again all the same.
ALTER TABLE messages
    ADD COLUMN IF NOT EXISTS parts jsonb,
    ADD COLUMN IF NOT EXISTS cached_input_tokens bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS reasoning_tokens bigint NOT NULL DEFAULT 0;

ALTER TABLE conversations
    ADD COLUMN IF NOT EXISTS cached_input_tokens bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS reasoning_tokens bigint NOT NULL DEFAULT 0;
