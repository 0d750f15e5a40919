-- PostgreSQL twin of SQLite's 0012_once_claims.sql (added by branch `shards` before the
-- PostgreSQL backend landed; renumber if it clashes): claims on work that must run once
-- across the bot processes sharing the database (command sync, closing-date locks).
CREATE TABLE once_claims (
    key         TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    done_at     BIGINT
);
