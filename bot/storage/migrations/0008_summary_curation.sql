-- An organiser's curation of an item's summary (/summary-edit): themes renamed or merged and
-- their own headline sentences, as JSON (bot.core.curation.Curation). Applied to every later
-- summary of the item.
CREATE TABLE summary_curation (
    item_id     INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    edits       TEXT NOT NULL,
    edited_by   INTEGER,
    edited_at   TEXT NOT NULL
);

-- Each /summary-publish: the curated summary as posted (and pinned) in the item's channel.
-- It is stale once the item's discussion_version has moved past the one it was made at.
CREATE TABLE summary_revisions (
    id                  INTEGER PRIMARY KEY,
    item_id             INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    number              INTEGER NOT NULL,
    discussion_version  INTEGER NOT NULL,
    summary             TEXT NOT NULL,       -- JSON DiscussionSummary, curation applied
    channel_id          INTEGER,
    message_id          INTEGER,
    published_by        INTEGER,
    published_at        TEXT NOT NULL,
    UNIQUE (item_id, number)
);
