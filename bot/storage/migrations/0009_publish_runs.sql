-- A background `/agenda publish`: what it publishes, how far it got, and the message in the
-- server where it shows its progress. A run still 'running' at start-up is resumed.
CREATE TABLE publish_runs (
    id               INTEGER PRIMARY KEY,
    consultation_id  INTEGER NOT NULL REFERENCES consultations(id) ON DELETE CASCADE,
    guild_id         INTEGER NOT NULL,
    channel_id       INTEGER NOT NULL,          -- where the progress message is
    message_id       INTEGER,                   -- the bot's progress message
    item_ids         TEXT NOT NULL,             -- JSON list, in publishing order
    changed_ids      TEXT NOT NULL DEFAULT '[]',-- items whose text changed (quotes re-anchored at the end)
    done             INTEGER NOT NULL DEFAULT 0,-- items of item_ids published so far
    created          INTEGER NOT NULL DEFAULT 0,
    updated          INTEGER NOT NULL DEFAULT 0,
    unchanged        INTEGER NOT NULL DEFAULT 0,
    status           TEXT NOT NULL DEFAULT 'running',  -- running | done | failed | superseded
    error            TEXT,
    requested_by     INTEGER,
    started_at       TEXT NOT NULL,
    finished_at      TEXT
);
CREATE INDEX publish_runs_status ON publish_runs(status);

-- Written just before the publisher creates something in Discord (a channel, a post, a
-- thread) and removed once its id is stored: after a crash, the next run looks for what it
-- may already have created (by name, or by the post's text, after `created_at`) instead of
-- creating it twice.
CREATE TABLE publish_intents (
    item_id     INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,              -- channel | post | starter | thread
    place_id    INTEGER NOT NULL DEFAULT 0, -- the channel or thread it goes into (0: the guild)
    detail      TEXT NOT NULL DEFAULT '{}', -- JSON: the channel name, the post's signature, the starter id
    created_at  TEXT NOT NULL,
    PRIMARY KEY (item_id, kind)
);
