-- Every 服务 and 走访 reply counts the team's and the sender's records of the
-- week. With the person in the index both counts are read from the index
-- alone, without visiting each row of the table.
CREATE INDEX services_team_week_person_idx ON services (team_id, week, person_id);
DROP INDEX services_team_week_idx;
CREATE INDEX visits_team_week_person_idx ON visits (team_id, week, person_id);
DROP INDEX visits_team_week_idx;
