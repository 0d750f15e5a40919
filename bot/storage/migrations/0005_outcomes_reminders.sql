-- Closing the loop: what became of each item ("you said, we did"), who is told, and the
-- reminders before an item closes.

-- An item's outcome, revisioned like articles: the newest revision is the current one.
CREATE TABLE outcomes (
    id           INTEGER PRIMARY KEY,
    item_id      INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    revision     INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('under_consideration', 'accepted',
                     'partly_accepted', 'not_taken_forward', 'done')),
    text         TEXT NOT NULL,
    responds_to  TEXT NOT NULL DEFAULT '[]',   -- JSON: [{kind, label, comment_ids}]
    author_id    INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    message_id   INTEGER,                      -- the bot's post of this revision
    UNIQUE (item_id, revision)
);

-- Participants who asked to be told when an outcome answers what they said.
ALTER TABLE participants ADD COLUMN notify_outcomes INTEGER NOT NULL DEFAULT 0;

-- One notice per item and person, ever: written with the outcome (intent), then delivered.
CREATE TABLE outcome_notices (
    item_id     INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    outcome_id  INTEGER NOT NULL REFERENCES outcomes(id) ON DELETE CASCADE,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dm', 'channel',
                    'withdrawn')),   -- withdrawn: consent turned off before delivery
    sent_at     TEXT,
    PRIMARY KEY (item_id, user_id)
);
CREATE INDEX outcome_notices_pending ON outcome_notices(state) WHERE state = 'pending';

-- A reminder before a closing date: claimed (intent) before it is posted, so never twice.
CREATE TABLE reminders (
    item_id     INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    closes_at   TEXT NOT NULL,          -- a new closing date gets its own reminders
    lead_s      INTEGER NOT NULL,       -- seconds before closes_at
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'skipped')),
    message_id  INTEGER,
    PRIMARY KEY (item_id, closes_at, lead_s)
);

-- Reminder lead times per item, from the agenda file (JSON list of seconds; NULL = default).
ALTER TABLE items ADD COLUMN reminder_leads TEXT;
