-- A consultation's opening and closing dates (from the agenda file) and the Discord scheduled
-- event that shows them in the server's event list.
CREATE TABLE consultation_events (
    consultation_id  INTEGER PRIMARY KEY REFERENCES consultations(id) ON DELETE CASCADE,
    opens_at         TEXT,
    closes_at        TEXT,               -- NULL: no dates, so no event (an old one is cancelled)
    event_id         INTEGER             -- the scheduled event, once created
);
