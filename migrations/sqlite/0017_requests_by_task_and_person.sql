-- A request's author hears back when its task is assigned or closed (the
-- task → request lookup), and `我的诉求` lists one person's requests to a
-- team. Without these both read every request of the team.
CREATE INDEX requests_task_idx ON requests (task_id);
CREATE INDEX requests_team_person_idx ON requests (team_id, person_id, at);
