-- 排名 counts the township's month so far from the raw rows: for each team
-- the tasks due, the requests, the rated weeks, the hard projects, the
-- households registered and those visited this year. By the indexes before
-- this one each of those rows cost a visit to its table too (the state, the
-- instant or the household are not in the key): on the 20,000-village year
-- one township's query touched 92,000 pages, 59,000 of them read from disk
-- (the visits alone: 32,500 table pages for 32,000 visits).
-- Each index below carries what the ranking reads of its rows, so the count
-- is read from the indexes alone (an index-only scan, once autovacuum has
-- marked the pages all-visible). Where an index of the message path is
-- widened (visits, services, ratings), the new one keeps the old key in
-- front, so the per-message counts read it as they read the old one.

-- Tasks due in the month, per team, with what decides on time.
CREATE INDEX tasks_team_deadline_cover_idx ON tasks (team_id, deadline_at)
    INCLUDE (id, state, closed_at, carried_over);
DROP INDEX IF EXISTS tasks_team_deadline_idx;

-- Villagers' requests raised in the month, per team.
CREATE INDEX tasks_request_team_created_idx ON tasks (team_id, created_at)
    INCLUDE (week, state, closed_at) WHERE source = 'request';

-- Visits: the per-message counts by (team, week, person), and the
-- households reached this year.
CREATE INDEX visits_team_week_person_cover_idx ON visits (team_id, week, person_id)
    INCLUDE (at, household_id);
DROP INDEX IF EXISTS visits_team_week_person_idx;

-- Services of the month per member.
CREATE INDEX services_team_week_person_cover_idx ON services (team_id, week, person_id)
    INCLUDE (at);
DROP INDEX IF EXISTS services_team_week_person_idx;

-- Ratings of the month's weeks, before the moment counted.
CREATE INDEX ratings_team_week_cover_idx ON ratings (team_id, week)
    INCLUDE (person_id, score, at);
DROP INDEX IF EXISTS ratings_team_week_score_idx;

-- Hard projects of the year per team, and whether one was reported on in
-- the month (the project's page lists its latest report by the same index).
CREATE INDEX projects_team_year_cover_idx ON projects (team_id, year)
    INCLUDE (id, state, created_at, done_at);
CREATE INDEX project_updates_project_at_idx ON project_updates (project_id, at);
DROP INDEX IF EXISTS project_updates_project_idx;

-- Households registered per village, counted without their names.
CREATE INDEX households_village_idx ON households (village_id);
