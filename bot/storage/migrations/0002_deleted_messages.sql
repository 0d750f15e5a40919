-- Deletions of messages the bot had not stored yet (a delete event handled before the
-- create, or during catch-up): remembered so that the text is never stored afterwards.
CREATE TABLE deleted_messages (
    message_id  INTEGER PRIMARY KEY,
    channel_id  INTEGER NOT NULL,
    deleted_at  TEXT NOT NULL
);
