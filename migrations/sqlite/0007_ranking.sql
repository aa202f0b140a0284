-- The monthly ranking and pioneers: per-township weights, the month
-- roll-ups the ranking reads for closed months, 创新先锋 nominations and the
-- confirmed pioneers. Keep identical (but for the id columns and REAL vs
-- DOUBLE PRECISION) to migrations/postgres/0007_ranking.sql.

-- Weights of the five ranking components (relative; the score divides by
-- their sum). A township without a row uses the defaults of the README.
CREATE TABLE ranking_weights (
    township_id BIGINT NOT NULL PRIMARY KEY REFERENCES townships(id),
    on_time     REAL   NOT NULL,
    requests    REAL   NOT NULL,
    coverage    REAL   NOT NULL,
    rating      REAL   NOT NULL,
    projects    REAL   NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- One team's month in counts (month = 'YYYY-MM' in the township's time
-- zone), built set-based from the raw rows by the monthly_ranking job or on
-- demand; never written by the message path.
CREATE TABLE team_month_stats (
    team_id          BIGINT NOT NULL REFERENCES teams(id),
    month            TEXT   NOT NULL,
    township_id      BIGINT NOT NULL REFERENCES townships(id),
    due              BIGINT NOT NULL,
    on_time          BIGINT NOT NULL,
    requests         BIGINT NOT NULL,
    requests_closed  BIGINT NOT NULL,
    households       BIGINT NOT NULL,
    reached          BIGINT NOT NULL,
    rating_sum       BIGINT NOT NULL,
    rating_n         BIGINT NOT NULL,
    rated_weeks      BIGINT NOT NULL,
    projects         BIGINT NOT NULL,
    projects_done    BIGINT NOT NULL,
    projects_done_in_month BIGINT NOT NULL,
    projects_updated BIGINT NOT NULL,
    built_at         BIGINT NOT NULL,
    PRIMARY KEY (team_id, month)
);
CREATE INDEX team_month_stats_township_idx ON team_month_stats (township_id, month);

-- One member's month: services, visits and tasks they owned closed on time.
CREATE TABLE person_month_stats (
    person_id   BIGINT NOT NULL REFERENCES people(id),
    team_id     BIGINT NOT NULL REFERENCES teams(id),
    month       TEXT   NOT NULL,
    township_id BIGINT NOT NULL REFERENCES townships(id),
    services    BIGINT NOT NULL,
    visits      BIGINT NOT NULL,
    on_time     BIGINT NOT NULL,
    PRIMARY KEY (person_id, team_id, month)
);
CREATE INDEX person_month_stats_township_idx ON person_month_stats (township_id, month);

-- 创新先锋 nominated by a township admin.
CREATE TABLE pioneer_nominations (
    id          INTEGER PRIMARY KEY,
    township_id BIGINT NOT NULL REFERENCES townships(id),
    month       TEXT   NOT NULL,
    team_id     BIGINT NOT NULL REFERENCES teams(id),
    name        TEXT   NOT NULL,
    reason      TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX pioneer_nominations_township_idx ON pioneer_nominations (township_id, month);

-- The pioneers a township admin confirmed: two of each kind a month.
-- kind: 'project' (subject: a team), 'diligence' (a person), 'innovation'
-- (a nomination); position: the order the admin gave within the kind.
CREATE TABLE pioneers (
    township_id  BIGINT NOT NULL REFERENCES townships(id),
    month        TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    subject_id   BIGINT NOT NULL,
    team_id      BIGINT NOT NULL REFERENCES teams(id),
    name         TEXT   NOT NULL,
    detail       TEXT   NOT NULL,
    position     BIGINT NOT NULL,
    confirmed_at BIGINT NOT NULL,
    PRIMARY KEY (township_id, month, kind, subject_id)
);

-- Tasks due in a month, per team (the on-time component).
CREATE INDEX tasks_team_deadline_idx ON tasks (team_id, deadline_at);
-- A team's leader without reading every role row (ranking labels).
CREATE INDEX team_roles_team_role_idx ON team_roles (team_id, role, person_id);
