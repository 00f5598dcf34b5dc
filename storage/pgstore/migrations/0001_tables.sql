-- Conversations, their messages and the audit log. Identifiers sort in
-- byte order (COLLATE "C"), as every Store's listings do.
CREATE TABLE conversations (
    id                text COLLATE "C" PRIMARY KEY,
    user_id           text COLLATE "C" NOT NULL,
    title             text NOT NULL DEFAULT '',
    model             text NOT NULL DEFAULT '',
    status            text NOT NULL DEFAULT '',
    metadata          jsonb,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    ended_at          timestamptz,
    mode              text NOT NULL DEFAULT 'ai',
    operator          text NOT NULL DEFAULT '',
    operator_name     text NOT NULL DEFAULT '',
    mode_changed_at   timestamptz,
    -- Statistics, kept with the conversation by the statements that write
    -- its messages.
    message_count     bigint NOT NULL DEFAULT 0,
    operator_assisted boolean NOT NULL DEFAULT false,
    input_tokens      bigint NOT NULL DEFAULT 0,
    output_tokens     bigint NOT NULL DEFAULT 0,
    total_tokens      bigint GENERATED ALWAYS AS (input_tokens + output_tokens) STORED,
    response_count    bigint NOT NULL DEFAULT 0,
    response_us_total bigint NOT NULL DEFAULT 0,
    response_us_min   bigint NOT NULL DEFAULT 0,
    response_us_max   bigint NOT NULL DEFAULT 0
);

CREATE TABLE messages (
    conversation_id text COLLATE "C" NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    id              text COLLATE "C" NOT NULL,
    role            text NOT NULL,
    text            text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT '',
    finish_reason   text NOT NULL DEFAULT '',
    error           text NOT NULL DEFAULT '',
    model           text NOT NULL DEFAULT '',
    reply_to        text NOT NULL DEFAULT '',
    input_tokens    bigint NOT NULL DEFAULT 0,
    output_tokens   bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz,
    -- Set by the update that took the message from streaming to complete.
    response_us     bigint,
    -- A random token of the call that inserted the row, so a retry of that
    -- call recognises its own insert.
    writer          text NOT NULL DEFAULT '',
    PRIMARY KEY (conversation_id, id)
);

-- Paging a conversation's messages, in either direction.
CREATE INDEX messages_page ON messages (conversation_id, created_at, id);
-- Aggregate: messages by creation time.
CREATE INDEX messages_created ON messages (created_at);

CREATE TABLE audit (
    id              text COLLATE "C" PRIMARY KEY,
    at              timestamptz NOT NULL,
    actor           text COLLATE "C" NOT NULL,
    action          text NOT NULL,
    conversation_id text COLLATE "C" NOT NULL DEFAULT '',
    detail          text NOT NULL DEFAULT ''
);

CREATE INDEX audit_at ON audit (at, id);
CREATE INDEX audit_conversation_at ON audit (conversation_id, at, id);
CREATE INDEX audit_actor_at ON audit (actor, at, id);
CREATE INDEX audit_action_at ON audit (action, at);
