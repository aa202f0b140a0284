-- 清单 counts the team's tasks still open from earlier weeks, and the Sunday
-- reminder lists them. By the key's index that meant reading every task of
-- the team's year to look at its state: hundreds of rows by December, on
-- every 清单. Only open tasks are in this index.
CREATE INDEX tasks_open_team_week_idx ON tasks (team_id, week, no) WHERE state = 'open';
