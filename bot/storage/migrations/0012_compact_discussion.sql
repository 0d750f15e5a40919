-- Compaction of the tables that grow with the discussion (issue 17: at most 300 bytes per
-- comment at a million comments).
--
-- 1. Times of comments, comment_revisions and deleted_messages are INTEGER microseconds since
--    1970-01-01T00:00:00 UTC (bot.storage.common.micros / from_micros) instead of 32-character
--    ISO-8601 strings. The small tables keep their ISO strings (bot.storage.common.ts).
-- 2. reactions is a WITHOUT ROWID table (its primary key is the only copy of its rows), and
--    `seq` is the order in which a comment's reactions were recorded: 1, 2, 3, ... (it was the
--    item's discussion version, ties broken by rowid).
-- 3. comments.kind is a small integer: 0 message, 1 quote, 2 citation (it was the word; a
--    message costs no byte for it now). bot.storage.discussion_store.COMMENT_KINDS.
-- 4. Only the indexes that the hot queries use (tests/unit/test_query_plans.py):
--    comments_item (item_id, created_at) is gone, comments_item_change (item_id, change_seq)
--    serves the same lookups; comments_author is gone, a person's export or erasure (rare)
--    reads the table once. citations_comment is new (see the end).
--
-- SQLite cannot change a column's type in place: each table is rebuilt (new table, copy with
-- conversion, drop, rename, indexes), with foreign keys checked before the commit (see
-- Database.migrate). Ids are copied as they are, so every reference stays valid.

CREATE TABLE comments_new (
    id                   INTEGER PRIMARY KEY,
    message_id           INTEGER NOT NULL UNIQUE,
    item_id              INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    channel_id           INTEGER NOT NULL,
    thread_id            INTEGER,
    author_id            INTEGER NOT NULL,
    reply_to_message_id  INTEGER,
    kind                 INTEGER NOT NULL DEFAULT 0 CHECK (kind IN (0, 1, 2)),  -- message, quote, citation
    content              TEXT,
    created_at           INTEGER NOT NULL,     -- microseconds since the epoch, UTC
    edited_at            INTEGER,
    deleted_at           INTEGER,              -- tombstone
    erased_at            INTEGER,              -- text erased at the author's request
    hidden               INTEGER NOT NULL DEFAULT 0,
    hidden_reason        TEXT,
    change_seq           INTEGER NOT NULL DEFAULT 0,
    forwarded            INTEGER NOT NULL DEFAULT 0
);
INSERT INTO comments_new (id, message_id, item_id, channel_id, thread_id, author_id,
    reply_to_message_id, kind, content, created_at, edited_at, deleted_at, erased_at, hidden,
    hidden_reason, change_seq, forwarded)
SELECT id, message_id, item_id, channel_id, thread_id, author_id, reply_to_message_id,
       CASE kind WHEN 'message' THEN 0 WHEN 'quote' THEN 1 WHEN 'citation' THEN 2 END,
       content,
       CAST(strftime('%s', created_at) AS INTEGER) * 1000000
           + CASE WHEN substr(created_at, 20, 1) = '.' THEN CAST(substr(substr(created_at, 21,
               length(created_at) - 20 - CASE WHEN created_at LIKE '%Z' THEN 1
                 WHEN substr(created_at, -6, 1) IN ('+', '-') THEN 6 ELSE 0 END)
               || '000000', 1, 6) AS INTEGER) ELSE 0 END,
       CAST(strftime('%s', edited_at) AS INTEGER) * 1000000
           + CASE WHEN substr(edited_at, 20, 1) = '.' THEN CAST(substr(substr(edited_at, 21,
               length(edited_at) - 20 - CASE WHEN edited_at LIKE '%Z' THEN 1
                 WHEN substr(edited_at, -6, 1) IN ('+', '-') THEN 6 ELSE 0 END)
               || '000000', 1, 6) AS INTEGER) ELSE 0 END,
       CAST(strftime('%s', deleted_at) AS INTEGER) * 1000000
           + CASE WHEN substr(deleted_at, 20, 1) = '.' THEN CAST(substr(substr(deleted_at, 21,
               length(deleted_at) - 20 - CASE WHEN deleted_at LIKE '%Z' THEN 1
                 WHEN substr(deleted_at, -6, 1) IN ('+', '-') THEN 6 ELSE 0 END)
               || '000000', 1, 6) AS INTEGER) ELSE 0 END,
       CAST(strftime('%s', erased_at) AS INTEGER) * 1000000
           + CASE WHEN substr(erased_at, 20, 1) = '.' THEN CAST(substr(substr(erased_at, 21,
               length(erased_at) - 20 - CASE WHEN erased_at LIKE '%Z' THEN 1
                 WHEN substr(erased_at, -6, 1) IN ('+', '-') THEN 6 ELSE 0 END)
               || '000000', 1, 6) AS INTEGER) ELSE 0 END,
       hidden, hidden_reason, change_seq, forwarded
FROM comments;
DROP TABLE comments;
ALTER TABLE comments_new RENAME TO comments;
CREATE INDEX comments_channel ON comments(channel_id, message_id);
CREATE INDEX comments_item_change ON comments(item_id, change_seq);

CREATE TABLE comment_revisions_new (
    id          INTEGER PRIMARY KEY,
    comment_id  INTEGER NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
    content     TEXT,
    edited_at   INTEGER NOT NULL            -- microseconds since the epoch, UTC
);
INSERT INTO comment_revisions_new (id, comment_id, content, edited_at)
SELECT id, comment_id, content,
       CAST(strftime('%s', edited_at) AS INTEGER) * 1000000
           + CASE WHEN substr(edited_at, 20, 1) = '.' THEN CAST(substr(substr(edited_at, 21,
               length(edited_at) - 20 - CASE WHEN edited_at LIKE '%Z' THEN 1
                 WHEN substr(edited_at, -6, 1) IN ('+', '-') THEN 6 ELSE 0 END)
               || '000000', 1, 6) AS INTEGER) ELSE 0 END
FROM comment_revisions;
DROP TABLE comment_revisions;
ALTER TABLE comment_revisions_new RENAME TO comment_revisions;
CREATE INDEX comment_revisions_comment ON comment_revisions(comment_id);

CREATE TABLE reactions_new (
    comment_id  INTEGER NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    emoji       TEXT NOT NULL,
    seq         INTEGER NOT NULL,           -- recorded order within the comment: 1, 2, ...
    PRIMARY KEY (comment_id, user_id, emoji)
) WITHOUT ROWID;
INSERT INTO reactions_new (comment_id, user_id, emoji, seq)
SELECT comment_id, user_id, emoji,
       ROW_NUMBER() OVER (PARTITION BY comment_id ORDER BY seq, rowid)
FROM reactions;
DROP TABLE reactions;
ALTER TABLE reactions_new RENAME TO reactions;

CREATE TABLE deleted_messages_new (
    message_id  INTEGER PRIMARY KEY,
    channel_id  INTEGER NOT NULL,
    deleted_at  INTEGER NOT NULL            -- microseconds since the epoch, UTC
);
INSERT INTO deleted_messages_new (message_id, channel_id, deleted_at)
SELECT message_id, channel_id,
       CAST(strftime('%s', deleted_at) AS INTEGER) * 1000000
           + CASE WHEN substr(deleted_at, 20, 1) = '.' THEN CAST(substr(substr(deleted_at, 21,
               length(deleted_at) - 20 - CASE WHEN deleted_at LIKE '%Z' THEN 1
                 WHEN substr(deleted_at, -6, 1) IN ('+', '-') THEN 6 ELSE 0 END)
               || '000000', 1, 6) AS INTEGER) ELSE 0 END
FROM deleted_messages;
DROP TABLE deleted_messages;
ALTER TABLE deleted_messages_new RENAME TO deleted_messages;

-- A comment's citations are replaced on every edit and dropped with it (and by the foreign key
-- cascade): without this index each of those read the whole citations table.
CREATE INDEX citations_comment ON citations(comment_id);
