-- Outbound notifications (issue 14): channels the administrator
-- configures, what each user receives where, and the delivery queue that
-- is also the delivery log. Flags are 0/1 integers; instants Unix seconds.

CREATE TABLE notify_channels (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    -- 1: sends to each subscribed user's own address (e-mail, SMS);
    -- 0: posts once to its group (webhook, robots).
    personal    INTEGER NOT NULL DEFAULT 0,
    -- The channel's settings as JSON (secrets included; never sent out).
    settings    TEXT NOT NULL,
    -- Group channels: the notification kinds it posts, comma-separated;
    -- empty: every kind.
    events      TEXT NOT NULL DEFAULT '',
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- A user's choice for a personal channel: the address, and which kinds.
CREATE TABLE notify_subscriptions (
    user_id     INTEGER NOT NULL REFERENCES users(id),
    channel_id  INTEGER NOT NULL REFERENCES notify_channels(id),
    address     TEXT NOT NULL,
    events      TEXT NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, channel_id)
);

-- One message to send over one channel (to one address on a personal
-- channel): pending until sent, retried with backoff, failed after the
-- last attempt. Rows are kept as the delivery log.
CREATE TABLE notify_deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id   INTEGER NOT NULL REFERENCES notify_channels(id),
    user_id      INTEGER REFERENCES users(id),
    address      TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL,
    title        TEXT NOT NULL,
    link         TEXT NOT NULL,
    happened_at  INTEGER NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending',
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    sent_at      INTEGER
);
CREATE INDEX notify_deliveries_due ON notify_deliveries(state, next_at);
