-- liancun schema v1 (SQLite). Keep table and column names identical to
-- migrations/postgres/0001_init.sql. Instants are UTC epoch milliseconds.

CREATE TABLE townships (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    timezone        TEXT,
    members_may_plan BOOLEAN NOT NULL DEFAULT FALSE,
    red_days        INTEGER NOT NULL DEFAULT 1,
    orange_days     INTEGER NOT NULL DEFAULT 3,
    yellow_days     INTEGER NOT NULL DEFAULT 5,
    green_days      INTEGER NOT NULL DEFAULT 7,
    created_at      BIGINT  NOT NULL
);

CREATE TABLE villages (
    id          INTEGER PRIMARY KEY,
    township_id BIGINT  NOT NULL REFERENCES townships(id),
    name        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    CONSTRAINT villages_township_name_key UNIQUE (township_id, name)
);

CREATE TABLE teams (
    id          INTEGER PRIMARY KEY,
    village_id  BIGINT  NOT NULL REFERENCES villages(id),
    name        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    CONSTRAINT teams_village_name_key UNIQUE (village_id, name)
);

-- A person is one identity on one platform (DingTalk staffId or WeCom userid).
CREATE TABLE people (
    id               INTEGER PRIMARY KEY,
    platform         TEXT   NOT NULL,
    platform_user_id TEXT   NOT NULL,
    display_name     TEXT   NOT NULL,
    phone            TEXT,
    created_at       BIGINT NOT NULL,
    CONSTRAINT people_platform_user_key UNIQUE (platform, platform_user_id)
);

-- role: 'leader' or 'member'. One leader per team is kept by the bot.
CREATE TABLE team_roles (
    team_id    BIGINT NOT NULL REFERENCES teams(id),
    person_id  BIGINT NOT NULL REFERENCES people(id),
    role       TEXT   NOT NULL,
    since      BIGINT NOT NULL,
    PRIMARY KEY (team_id, person_id)
);

-- One chat on one platform.
CREATE TABLE chat_groups (
    id              INTEGER PRIMARY KEY,
    platform        TEXT   NOT NULL,
    bot             TEXT   NOT NULL,
    conversation_id TEXT   NOT NULL,
    title           TEXT   NOT NULL DEFAULT '',
    team_id         BIGINT REFERENCES teams(id),
    created_at      BIGINT NOT NULL,
    CONSTRAINT chat_groups_platform_conversation_key UNIQUE (platform, conversation_id)
);
CREATE INDEX chat_groups_team_idx ON chat_groups (team_id);

-- People seen in a group: how a name typed after @ is resolved.
CREATE TABLE group_members (
    group_id     BIGINT NOT NULL REFERENCES chat_groups(id),
    person_id    BIGINT NOT NULL REFERENCES people(id),
    last_seen_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, person_id)
);

CREATE TABLE plans (
    id           INTEGER PRIMARY KEY,
    team_id      BIGINT NOT NULL REFERENCES teams(id),
    week         TEXT   NOT NULL,
    published_by BIGINT NOT NULL REFERENCES people(id),
    published_at BIGINT NOT NULL,
    CONSTRAINT plans_team_week_key UNIQUE (team_id, week)
);

-- state: 'open', 'closed' or 'cancelled'; level: 'red' … 'green';
-- source: 'plan', 'add' or 'request'. no is the #N shown in the group,
-- stable within (team, week).
CREATE TABLE tasks (
    id            INTEGER PRIMARY KEY,
    team_id       BIGINT NOT NULL REFERENCES teams(id),
    week          TEXT   NOT NULL,
    no            BIGINT NOT NULL,
    text          TEXT   NOT NULL,
    level         TEXT   NOT NULL,
    deadline_at   BIGINT NOT NULL,
    state         TEXT   NOT NULL DEFAULT 'open',
    source        TEXT   NOT NULL,
    created_by    BIGINT NOT NULL REFERENCES people(id),
    created_at    BIGINT NOT NULL,
    closed_at     BIGINT,
    closed_by     BIGINT REFERENCES people(id),
    result        TEXT,
    cancel_reason TEXT,
    CONSTRAINT tasks_team_week_no_key UNIQUE (team_id, week, no)
);
CREATE INDEX tasks_state_deadline_idx ON tasks (state, deadline_at);

CREATE TABLE task_owners (
    task_id   BIGINT NOT NULL REFERENCES tasks(id),
    person_id BIGINT NOT NULL REFERENCES people(id),
    PRIMARY KEY (task_id, person_id)
);
CREATE INDEX task_owners_person_idx ON task_owners (person_id);

CREATE TABLE task_postponements (
    id        INTEGER PRIMARY KEY,
    task_id   BIGINT NOT NULL REFERENCES tasks(id),
    from_at   BIGINT NOT NULL,
    to_at     BIGINT NOT NULL,
    reason    TEXT   NOT NULL,
    by_person BIGINT NOT NULL REFERENCES people(id),
    at        BIGINT NOT NULL
);
CREATE INDEX task_postponements_task_idx ON task_postponements (task_id);

CREATE TABLE services (
    id        INTEGER PRIMARY KEY,
    team_id   BIGINT NOT NULL REFERENCES teams(id),
    week      TEXT   NOT NULL,
    task_id   BIGINT REFERENCES tasks(id),
    person_id BIGINT NOT NULL REFERENCES people(id),
    text      TEXT   NOT NULL,
    at        BIGINT NOT NULL
);
CREATE INDEX services_team_week_idx ON services (team_id, week);

CREATE TABLE visits (
    id        INTEGER PRIMARY KEY,
    team_id   BIGINT NOT NULL REFERENCES teams(id),
    week      TEXT   NOT NULL,
    person_id BIGINT NOT NULL REFERENCES people(id),
    household TEXT   NOT NULL,
    text      TEXT   NOT NULL,
    at        BIGINT NOT NULL
);
CREATE INDEX visits_team_week_idx ON visits (team_id, week);

-- One rating per villager per team per week; the latest counts (upsert).
CREATE TABLE ratings (
    team_id   BIGINT NOT NULL REFERENCES teams(id),
    week      TEXT   NOT NULL,
    person_id BIGINT NOT NULL REFERENCES people(id),
    score     BIGINT NOT NULL,
    comment   TEXT   NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (team_id, week, person_id)
);

-- A villager's request; it becomes a task of the team.
CREATE TABLE requests (
    id        INTEGER PRIMARY KEY,
    team_id   BIGINT NOT NULL REFERENCES teams(id),
    week      TEXT   NOT NULL,
    person_id BIGINT NOT NULL REFERENCES people(id),
    text      TEXT   NOT NULL,
    task_id   BIGINT NOT NULL REFERENCES tasks(id),
    at        BIGINT NOT NULL
);
CREATE INDEX requests_team_week_idx ON requests (team_id, week);

-- Platform messages already handled, with the reply they got (dedupe).
CREATE TABLE inbound_messages (
    platform    TEXT   NOT NULL,
    msg_id      TEXT   NOT NULL,
    received_at BIGINT NOT NULL,
    reply       TEXT,
    PRIMARY KEY (platform, msg_id)
);
