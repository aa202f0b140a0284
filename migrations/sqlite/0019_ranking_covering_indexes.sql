-- 排名 counts the township's month so far from the raw rows (see
-- migrations/postgres/0019_ranking_covering_indexes.sql): each index below
-- carries what the ranking reads of its rows, so the counts are read from
-- the indexes alone. SQLite has no INCLUDE: the columns go at the end of the
-- key. The ratings table is keyed by (team, week, person) itself (0009), so
-- it needs none. Where an index of the message path is widened (visits,
-- services), the new one keeps the old key in front.

CREATE INDEX tasks_team_deadline_cover_idx ON tasks (team_id, deadline_at, state, closed_at, carried_over, id);
DROP INDEX IF EXISTS tasks_team_deadline_idx;

CREATE INDEX tasks_request_team_created_idx ON tasks (team_id, created_at, week, state, closed_at)
    WHERE source = 'request';

CREATE INDEX visits_team_week_person_cover_idx ON visits (team_id, week, person_id, at, household_id);
DROP INDEX IF EXISTS visits_team_week_person_idx;

CREATE INDEX services_team_week_person_cover_idx ON services (team_id, week, person_id, at);
DROP INDEX IF EXISTS services_team_week_person_idx;

CREATE INDEX projects_team_year_cover_idx ON projects (team_id, year, id, state, created_at, done_at);
CREATE INDEX project_updates_project_at_idx ON project_updates (project_id, at);
DROP INDEX IF EXISTS project_updates_project_idx;

CREATE INDEX households_village_idx ON households (village_id);
