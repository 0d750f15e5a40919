-- The whole consultation record. Discord ids are INTEGER (64-bit fits SQLite's INTEGER).
-- Times are ISO-8601 UTC strings.

CREATE TABLE consultations (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    key          TEXT NOT NULL,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    category_id  INTEGER,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (guild_id, key)
);

-- Agenda items form a tree (item, sub-items), ordered by position among siblings.
CREATE TABLE items (
    id                  INTEGER PRIMARY KEY,
    consultation_id     INTEGER NOT NULL REFERENCES consultations(id) ON DELETE CASCADE,
    key                 TEXT NOT NULL,
    parent_id           INTEGER REFERENCES items(id) ON DELETE CASCADE,
    position            INTEGER NOT NULL,
    closes_at           TEXT,
    created_at          TEXT NOT NULL,
    last_activity_at    TEXT,
    -- bumped in the same transaction as any change to the item's discussion;
    -- a cached summary computed at another version is stale.
    discussion_version  INTEGER NOT NULL DEFAULT 0,
    UNIQUE (consultation_id, key)
);
CREATE INDEX items_parent ON items(parent_id);

-- The article text is versioned: quotes point at the revision they quote.
CREATE TABLE item_revisions (
    id          INTEGER PRIMARY KEY,
    item_id     INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    title       TEXT NOT NULL,
    summation   TEXT NOT NULL,
    body        TEXT NOT NULL,
    author_id   INTEGER,
    created_at  TEXT NOT NULL,
    UNIQUE (item_id, number)
);

CREATE TABLE item_relations (
    item_id     INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    related_id  INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    PRIMARY KEY (item_id, related_id)
);

-- Where an item lives in Discord. Top-level item: its own text channel.
-- Sub-item: a thread (thread_id) in its parent's channel (channel_id), opened
-- from a bot post (starter_message_id).
CREATE TABLE places (
    item_id             INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    channel_id          INTEGER NOT NULL,
    thread_id           INTEGER UNIQUE,
    starter_message_id  INTEGER,
    post_message_ids    TEXT NOT NULL DEFAULT '[]',   -- JSON list: the article's messages, first is pinned
    post_fingerprint    TEXT,
    published_at        TEXT NOT NULL
);
CREATE INDEX places_channel ON places(channel_id);

-- Every channel or thread the bot follows, with the newest message it has seen
-- there: catch-up after a restart reads history after it.
CREATE TABLE channel_cursors (
    channel_id       INTEGER PRIMARY KEY,
    item_id          INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    parent_id        INTEGER,           -- the item channel, for threads
    last_message_id  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE participants (
    user_id        INTEGER PRIMARY KEY,
    pseudonym      TEXT NOT NULL UNIQUE,
    display_name   TEXT,
    affiliation    TEXT,
    consent_named  INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE comments (
    id                   INTEGER PRIMARY KEY,
    message_id           INTEGER NOT NULL UNIQUE,
    item_id              INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    channel_id           INTEGER NOT NULL,     -- channel or thread the message is in
    thread_id            INTEGER,              -- set when channel_id is a thread
    author_id            INTEGER NOT NULL,
    reply_to_message_id  INTEGER,
    kind                 TEXT NOT NULL DEFAULT 'message' CHECK (kind IN ('message', 'quote', 'citation')),
    content              TEXT,                 -- NULL once deleted or erased
    created_at           TEXT NOT NULL,
    edited_at            TEXT,
    deleted_at           TEXT,                 -- tombstone
    erased_at            TEXT,                 -- text erased at the author's request
    hidden               INTEGER NOT NULL DEFAULT 0,
    hidden_reason        TEXT
);
CREATE INDEX comments_item ON comments(item_id, created_at);
CREATE INDEX comments_author ON comments(author_id);
CREATE INDEX comments_channel ON comments(channel_id, message_id);

CREATE TABLE comment_revisions (
    id          INTEGER PRIMARY KEY,
    comment_id  INTEGER NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
    content     TEXT,
    edited_at   TEXT NOT NULL
);
CREATE INDEX comment_revisions_comment ON comment_revisions(comment_id);

CREATE TABLE attachments (
    id            INTEGER PRIMARY KEY,
    comment_id    INTEGER NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
    filename      TEXT,
    url           TEXT,
    content_type  TEXT
);
CREATE INDEX attachments_comment ON attachments(comment_id);

CREATE TABLE reactions (
    comment_id  INTEGER NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    emoji       TEXT NOT NULL,
    PRIMARY KEY (comment_id, user_id, emoji)
);

-- A quote of the article (W3C Web Annotation: TextQuoteSelector + TextPositionSelector).
CREATE TABLE quotes (
    id           INTEGER PRIMARY KEY,
    comment_id   INTEGER NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
    item_id      INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    revision_id  INTEGER NOT NULL REFERENCES item_revisions(id),
    ordinal      INTEGER NOT NULL DEFAULT 0,   -- n-th quote in the comment
    passage      TEXT,                         -- what the participant quoted
    exact        TEXT,
    prefix       TEXT,
    suffix       TEXT,
    start        INTEGER,
    "end"        INTEGER,
    state        TEXT NOT NULL CHECK (state IN ('anchored', 'moved', 'orphaned', 'unanchored')),
    score        REAL NOT NULL DEFAULT 0,
    UNIQUE (comment_id, ordinal)
);
CREATE INDEX quotes_item ON quotes(item_id);

CREATE TABLE citations (
    id              INTEGER PRIMARY KEY,
    item_id         INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    normalized_url  TEXT NOT NULL,
    url             TEXT NOT NULL,
    title           TEXT,
    note            TEXT,
    comment_id      INTEGER REFERENCES comments(id) ON DELETE CASCADE,
    message_id      INTEGER NOT NULL,
    citer_id        INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (message_id, normalized_url)
);
CREATE INDEX citations_item ON citations(item_id, normalized_url);

-- Locks: a whole item (its channel and threads) or one thread. The channel's
-- overwrites before the lock are kept so unlock restores them exactly.
CREATE TABLE locks (
    target_id          INTEGER PRIMARY KEY,          -- channel id (item) or thread id
    item_id            INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    scope              TEXT NOT NULL CHECK (scope IN ('item', 'thread')),
    reason             TEXT,
    locked_by          INTEGER,
    locked_at          TEXT NOT NULL,
    saved_overwrites   TEXT                          -- JSON, item locks only
);

CREATE TABLE moderation_actions (
    id            INTEGER PRIMARY KEY,
    guild_id      INTEGER,
    item_id       INTEGER REFERENCES items(id) ON DELETE SET NULL,
    moderator_id  INTEGER,
    action        TEXT NOT NULL,
    target_type   TEXT NOT NULL,
    target_id     INTEGER,
    reason        TEXT,
    created_at    TEXT NOT NULL
);
CREATE INDEX moderation_actions_item ON moderation_actions(item_id, created_at);

CREATE TABLE summary_cache (
    item_id             INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    discussion_version  INTEGER NOT NULL,
    computed_at         TEXT NOT NULL,
    result              TEXT NOT NULL
);

CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
