-- The PostgreSQL twin of SQLite's 0012_compact_discussion.sql: the discussion's times are
-- BIGINT microseconds since the epoch (bot.storage.common.micros), comments.kind a small
-- integer (0 message, 1 quote, 2 citation), reactions.seq each comment's recorded order
-- (1, 2, 3, ...; no rowid), and the same indexes as SQLite.

ALTER TABLE comments DROP CONSTRAINT comments_kind_check;
ALTER TABLE comments ALTER COLUMN kind DROP DEFAULT;
ALTER TABLE comments
    ALTER COLUMN kind TYPE INTEGER USING
        CASE kind WHEN 'message' THEN 0 WHEN 'quote' THEN 1 WHEN 'citation' THEN 2 END,
    ALTER COLUMN created_at TYPE BIGINT USING
        (EXTRACT(EPOCH FROM created_at::timestamptz) * 1000000)::BIGINT,
    ALTER COLUMN edited_at TYPE BIGINT USING
        (EXTRACT(EPOCH FROM edited_at::timestamptz) * 1000000)::BIGINT,
    ALTER COLUMN deleted_at TYPE BIGINT USING
        (EXTRACT(EPOCH FROM deleted_at::timestamptz) * 1000000)::BIGINT,
    ALTER COLUMN erased_at TYPE BIGINT USING
        (EXTRACT(EPOCH FROM erased_at::timestamptz) * 1000000)::BIGINT;
ALTER TABLE comments ALTER COLUMN kind SET DEFAULT 0;
ALTER TABLE comments ADD CONSTRAINT comments_kind_check CHECK (kind IN (0, 1, 2));
DROP INDEX comments_item;
DROP INDEX comments_author;

ALTER TABLE comment_revisions ALTER COLUMN edited_at TYPE BIGINT USING
    (EXTRACT(EPOCH FROM edited_at::timestamptz) * 1000000)::BIGINT;

ALTER TABLE deleted_messages ALTER COLUMN deleted_at TYPE BIGINT USING
    (EXTRACT(EPOCH FROM deleted_at::timestamptz) * 1000000)::BIGINT;

UPDATE reactions r SET seq = o.n
FROM (SELECT comment_id, user_id, emoji,
             ROW_NUMBER() OVER (PARTITION BY comment_id ORDER BY seq, rowid) AS n
      FROM reactions) o
WHERE r.comment_id = o.comment_id AND r.user_id = o.user_id AND r.emoji = o.emoji;
ALTER TABLE reactions ALTER COLUMN seq DROP DEFAULT;
ALTER TABLE reactions DROP COLUMN rowid;

CREATE INDEX citations_comment ON citations(comment_id);
