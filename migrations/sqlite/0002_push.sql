-- Pushes: the durable outbox, per-robot budgets, scheduled firings, nags,
-- per-group push robots, township admins and calendar corrections.
-- Keep identical (but for id columns) to migrations/postgres/0002_push.sql.

-- A custom group robot (自定义机器人) for pushes to this group, instead of the
-- enterprise robot's OpenAPI. The secrets are write-only through the admin API.
ALTER TABLE chat_groups ADD COLUMN push_webhook_token TEXT;
ALTER TABLE chat_groups ADD COLUMN push_webhook_secret TEXT;
-- The last sessionWebhook a callback carried (late replies while unexpired).
ALTER TABLE chat_groups ADD COLUMN session_webhook TEXT;
ALTER TABLE chat_groups ADD COLUMN session_expires_at BIGINT;

-- Per-township schedule overrides: job name → cron expression ('' disables).
CREATE TABLE township_schedules (
    township_id BIGINT NOT NULL REFERENCES townships(id),
    job         TEXT   NOT NULL,
    cron        TEXT   NOT NULL,
    PRIMARY KEY (township_id, job)
);

-- People notified for a township (plan_missing, escalated overdue tasks).
CREATE TABLE township_admins (
    township_id BIGINT NOT NULL REFERENCES townships(id),
    person_id   BIGINT NOT NULL REFERENCES people(id),
    PRIMARY KEY (township_id, person_id)
);

-- Admins' corrections and additions to the bundled holiday calendar (TOML of one year).
CREATE TABLE calendar_years (
    year       BIGINT PRIMARY KEY,
    data       TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One row per (job, scope, slot): whoever inserts it runs the firing.
-- status: 'running', 'done', 'failed', 'skipped' (missed beyond the grace window).
CREATE TABLE job_firings (
    job        TEXT   NOT NULL,
    scope      TEXT   NOT NULL,
    slot       BIGINT NOT NULL,
    fire_at    BIGINT NOT NULL,
    status     TEXT   NOT NULL,
    claimed_by TEXT   NOT NULL,
    claimed_at BIGINT NOT NULL,
    finished_at BIGINT,
    enqueued   BIGINT NOT NULL DEFAULT 0,
    error      TEXT,
    PRIMARY KEY (job, scope, slot)
);

-- How far the scheduler has looked, per (job, scope).
CREATE TABLE job_cursors (
    job      TEXT   NOT NULL,
    scope    TEXT   NOT NULL,
    checked_until BIGINT NOT NULL,
    PRIMARY KEY (job, scope)
);

-- Outgoing messages. dedupe_key makes a re-run of the same firing a no-op.
-- state: 'pending', 'sent', 'dead'.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    dedupe_key      TEXT   NOT NULL,
    group_id        BIGINT REFERENCES chat_groups(id),
    person_id       BIGINT REFERENCES people(id),
    bot             TEXT   NOT NULL,
    robot_key       TEXT   NOT NULL,
    message         TEXT   NOT NULL,
    state           TEXT   NOT NULL DEFAULT 'pending',
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    leased_by       TEXT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT,
    CONSTRAINT outbox_dedupe_key UNIQUE (dedupe_key)
);
CREATE INDEX outbox_due_idx ON outbox (state, next_attempt_at);

-- Per-robot send budget shared by every replica: at most one send per
-- robot per spacing interval (≤ 20 a minute), and a pause after a throttle.
CREATE TABLE robot_budget (
    robot_key    TEXT   PRIMARY KEY,
    next_free_at BIGINT NOT NULL,
    paused_until BIGINT NOT NULL DEFAULT 0
);

-- At most one nag per person per task per local day.
CREATE TABLE nags (
    person_id BIGINT NOT NULL REFERENCES people(id),
    task_id   BIGINT NOT NULL REFERENCES tasks(id),
    day       TEXT   NOT NULL,
    PRIMARY KEY (person_id, task_id, day)
);

-- Overdue alerts: each task at most once a local day.
CREATE TABLE overdue_alerts (
    task_id BIGINT NOT NULL REFERENCES tasks(id),
    day     TEXT   NOT NULL,
    PRIMARY KEY (task_id, day)
);
