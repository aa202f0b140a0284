-- Task numbers are unique per team, no longer per week: a task left open in
-- an earlier week stays addressable as #N, and #N never names two open tasks
-- of one team. Each team's last number is a row here, raised with
-- UPDATE … RETURNING in the transaction that creates tasks, so two messages
-- at the same moment wait for each other instead of colliding on the key.
CREATE TABLE task_counters (
    team_id BIGINT PRIMARY KEY REFERENCES teams(id),
    last_no BIGINT NOT NULL
);

-- Open tasks of a team's earlier weeks take fresh numbers above all the
-- team's numbers; the latest week keeps its own, the numbers people see now.
CREATE TABLE task_renumbering AS
SELECT t.id AS id,
       m.max_no + ROW_NUMBER() OVER (PARTITION BY t.team_id ORDER BY t.week, t.no) AS new_no
FROM tasks t
JOIN (SELECT team_id, MAX(no) AS max_no, MAX(week) AS last_week FROM tasks GROUP BY team_id) m
  ON m.team_id = t.team_id
WHERE t.state = 'open' AND t.week < m.last_week;

UPDATE tasks SET no = (SELECT r.new_no FROM task_renumbering r WHERE r.id = tasks.id)
WHERE id IN (SELECT id FROM task_renumbering);

DROP TABLE task_renumbering;

INSERT INTO task_counters (team_id, last_no) SELECT team_id, MAX(no) FROM tasks GROUP BY team_id;

CREATE UNIQUE INDEX tasks_open_team_no_key ON tasks (team_id, no) WHERE state = 'open';
