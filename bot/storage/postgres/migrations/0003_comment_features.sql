-- The PostgreSQL twin of SQLite's 0013_comment_features.sql: per-comment hashed text
-- features for summaries, computed once per comment and deleted with the text (see
-- FeatureStore.forget_in).
--   content_hash  64-bit blake2b of the text they were computed from (signed)
--   dup_key       64-bit blake2b of the normalised word sequence (duplicate detection)
--   flags         1: chatter ("+1", "thanks"), 2: a statement about the participant
--   features      little-endian uint32 per distinct term: hashed column | count << 24
CREATE TABLE comment_features (
    item_id       BIGINT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    comment_id    BIGINT NOT NULL,
    content_hash  BIGINT NOT NULL,
    dup_key       BIGINT NOT NULL,
    flags         INTEGER NOT NULL,
    features      BYTEA NOT NULL,
    PRIMARY KEY (item_id, comment_id)
);
