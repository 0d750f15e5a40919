-- Work that must run once across bot processes sharing this database (several shard
-- processes): command sync, an item's closing-date lock. A process claims the work by
-- inserting its row (the primary key lets one insert win); a claim whose process died
-- lapses at expires_at (unix seconds) and may be taken over; done_at marks work finished.
CREATE TABLE once_claims (
    key         TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,      -- the claiming process (random per process)
    expires_at  INTEGER NOT NULL,
    done_at     INTEGER
);
