-- A consultation's layout in Discord (the agenda file's [consultation] layout): "channels" (a
-- text channel per item) or "forum" (one forum channel, a post per item), and that forum.
CREATE TABLE consultation_layouts (
    consultation_id  INTEGER PRIMARY KEY REFERENCES consultations(id) ON DELETE CASCADE,
    layout           TEXT NOT NULL DEFAULT 'channels' CHECK (layout IN ('channels', 'forum')),
    forum_id         INTEGER            -- the forum channel, once created
);
