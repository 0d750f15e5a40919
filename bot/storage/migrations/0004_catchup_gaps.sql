-- The gap record of a followed channel: `last_message_id` is the newest message up to which
-- history has been read without a hole; `first_live_id` is the first message received live
-- while a hole was open (NULL when there is none). Live messages never move the cursor over
-- a hole: only catch-up, reading history in order, closes it.
ALTER TABLE channel_cursors ADD COLUMN first_live_id INTEGER;
