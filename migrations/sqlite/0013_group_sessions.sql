-- The newest DingTalk sessionWebhook of each group (valid ~90 minutes): a
-- push meant to reach one person (overdue alert, Monday reminder) goes
-- through it while it lasts, since it carries a real @-mention and the
-- OpenAPI group message cannot. Its own table, not chat_groups (whose
-- unused session_webhook columns of 0002 stay as they are): a change to
-- chat_groups makes the SQLite writer forget its cached group contexts.
CREATE TABLE group_sessions (
    group_id   BIGINT NOT NULL PRIMARY KEY REFERENCES chat_groups(id),
    url        TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
