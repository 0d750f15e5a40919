-- The order reactions were recorded in: a participant's latest reaction on a comment is their
-- vote (Pol.is counts the latest vote). `seq` is the item's discussion_version at which the
-- reaction was stored; reactions stored before this migration have 0 and are ordered by rowid.
ALTER TABLE reactions ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
