-- Per-comment hashed text features for summaries, computed once per comment (off the
-- event loop, shortly after ingestion) so that a restart loads them instead of
-- tokenising every comment again. Derived from the comment's text: deleted with it when
-- the text is edited, deleted or erased (see FeatureStore.forget_in).
--   content_hash  64-bit blake2b of the text they were computed from (signed)
--   dup_key       64-bit blake2b of the normalised word sequence (duplicate detection)
--   flags         1: chatter ("+1", "thanks"), 2: a statement about the participant
--   features      little-endian uint32 per distinct term: hashed column | count << 24
CREATE TABLE comment_features (
    item_id       INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    comment_id    INTEGER NOT NULL,
    content_hash  INTEGER NOT NULL,
    dup_key       INTEGER NOT NULL,
    flags         INTEGER NOT NULL,
    features      BLOB NOT NULL,
    PRIMARY KEY (item_id, comment_id)
) WITHOUT ROWID;
