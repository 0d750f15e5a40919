-- The item's discussion_version at a comment's last change (text, deletion, hiding,
-- erasure, reactions): summaries re-read only the comments changed since they last ran.
ALTER TABLE comments ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX comments_item_change ON comments(item_id, change_seq);
