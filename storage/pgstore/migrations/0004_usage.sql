-- Usage per user, model and UTC day; the replies counted in it; budget
-- reservations. New tables only: nothing existing is touched.

-- One row per (user, model, UTC day), the sums of the replies recorded on
-- it. neg_day is the day negated (days before 1970-01-01), so that one
-- ascending index serves the listing order, newest day first then user
-- then model, and a page starts from a row comparison.
CREATE TABLE IF NOT EXISTS usage_rows (
    user_id             text COLLATE "C" NOT NULL,
    model               text COLLATE "C" NOT NULL,
    day                 date NOT NULL,
    neg_day             integer GENERATED ALWAYS AS (DATE '1970-01-01' - day) STORED,
    replies             bigint NOT NULL DEFAULT 0,
    estimated_replies   bigint NOT NULL DEFAULT 0,
    input_tokens        bigint NOT NULL DEFAULT 0,
    output_tokens       bigint NOT NULL DEFAULT 0,
    cached_input_tokens bigint NOT NULL DEFAULT 0,
    reasoning_tokens    bigint NOT NULL DEFAULT 0,
    cost_micros         bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, model, day)
);

-- The listing, alone and for one user (which also serves a user's sums
-- over a period) or one model.
CREATE INDEX IF NOT EXISTS usage_rows_listing ON usage_rows (neg_day, user_id, model);
CREATE INDEX IF NOT EXISTS usage_rows_user ON usage_rows (user_id, neg_day, model);
CREATE INDEX IF NOT EXISTS usage_rows_model ON usage_rows (model, neg_day, user_id);

-- The replies counted in usage_rows, by id: recording an id again finds it
-- here and counts nothing.
CREATE TABLE IF NOT EXISTS usage_replies (
    id              text COLLATE "C" PRIMARY KEY,
    user_id         text COLLATE "C" NOT NULL,
    model           text COLLATE "C" NOT NULL,
    conversation_id text COLLATE "C" NOT NULL DEFAULT '',
    at              timestamptz NOT NULL
);

-- Live reservations. Expired ones count nowhere; they are deleted as the
-- store comes across them.
CREATE TABLE IF NOT EXISTS usage_reservations (
    user_id     text COLLATE "C" NOT NULL,
    id          text COLLATE "C" NOT NULL,
    tokens      bigint NOT NULL,
    cost_micros bigint NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, id)
);

CREATE INDEX IF NOT EXISTS usage_reservations_expiry ON usage_reservations (expires_at);
