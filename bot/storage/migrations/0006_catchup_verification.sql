-- Forwarded messages are stored with the forwarded text (their snapshot) and marked as such.
ALTER TABLE comments ADD COLUMN forwarded INTEGER NOT NULL DEFAULT 0;
-- After a downtime, catch-up re-checks stored comments for edits, deletions and reactions
-- made while the bot was away, back to a bounded point. Comments of this channel with an
-- older message id were not re-checked after the last downtime (NULL: all were re-checked).
ALTER TABLE channel_cursors ADD COLUMN unverified_before INTEGER;
