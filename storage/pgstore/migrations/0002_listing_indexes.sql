-- One index per conversation listing order, each read in either
-- direction; the common filters (owner, status, mode) lead their own.
CREATE INDEX conversations_created ON conversations (created_at, id);
CREATE INDEX conversations_user_created ON conversations (user_id, created_at, id);
CREATE INDEX conversations_user_updated ON conversations (user_id, updated_at, id);
CREATE INDEX conversations_status_created ON conversations (status, created_at, id);
CREATE INDEX conversations_mode_created ON conversations (mode, created_at, id);
CREATE INDEX conversations_updated ON conversations (updated_at, id);
CREATE INDEX conversations_messages ON conversations (message_count, id);
CREATE INDEX conversations_tokens ON conversations (total_tokens, id);
