-- Who changed what, when: every admin change and every in-chat binding or
-- role change. Keep identical (but for the id column) to migrations/postgres/0003_audit.sql.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          BIGINT NOT NULL,
    -- 'admin' for the admin API; '<platform>:<user id>' for a chat command.
    actor       TEXT   NOT NULL,
    action      TEXT   NOT NULL,
    target      TEXT   NOT NULL,
    before_json TEXT,
    after_json  TEXT
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
