-- 排名's month so far, kept per team (store::ranking::current_team_months).
-- Counting a township's month from the raw rows reads each of its teams'
-- index entries in six tables: some 3,000 pages for a township of 282 teams,
-- most of them from disk when the server's cache is cold. This table keeps
-- each team's counts of the current month, as of `built_at`, read by
-- township in a few pages; 排名 counts again only the teams whose row is not
-- current and writes their rows back.
--
-- A row is current while `dirty` = 0, its month is the one asked, and the
-- moment asked is not past `stale_at` (when its counts next change with no
-- write: a task's deadline, or a row stamped later than the moment counted).
-- Every write that can change a team's counts marks its row dirty, by the
-- triggers below, so no code path can forget to. A write first takes a KEY
-- SHARE lock on the row and holds it to its commit; 排名 claims the rows it
-- recounts with FOR UPDATE SKIP LOCKED, so a team with a write in flight is
-- counted but not written back, and a write that comes after the claim
-- waits for it (a few milliseconds) and then marks the row dirty. 排名 never
-- waits for a write. Two transactions that each write for several teams, in
-- opposite orders, could deadlock on these rows (PostgreSQL then fails one);
-- a message writes for one team.
--
-- PostgreSQL only: on SQLite 排名 counts from the raw rows, which the
-- machine's page cache keeps for a county.

CREATE TABLE team_month_live (
    team_id BIGINT PRIMARY KEY REFERENCES teams (id) ON DELETE CASCADE,
    -- The month counted (YYYY-MM, in the township's zone); '' before the first count.
    month TEXT NOT NULL DEFAULT '',
    township_id BIGINT NOT NULL DEFAULT 0,
    built_at BIGINT NOT NULL DEFAULT 0,
    stale_at BIGINT,
    dirty BIGINT NOT NULL DEFAULT 1,
    due BIGINT NOT NULL DEFAULT 0,
    on_time BIGINT NOT NULL DEFAULT 0,
    requests BIGINT NOT NULL DEFAULT 0,
    requests_closed BIGINT NOT NULL DEFAULT 0,
    households BIGINT NOT NULL DEFAULT 0,
    reached BIGINT NOT NULL DEFAULT 0,
    rating_sum BIGINT NOT NULL DEFAULT 0,
    rating_n BIGINT NOT NULL DEFAULT 0,
    rated_weeks BIGINT NOT NULL DEFAULT 0,
    projects BIGINT NOT NULL DEFAULT 0,
    projects_done BIGINT NOT NULL DEFAULT 0,
    projects_done_in_month BIGINT NOT NULL DEFAULT 0,
    projects_updated BIGINT NOT NULL DEFAULT 0,
    -- Services, visits and on-time closures of the team's current members.
    member_points BIGINT NOT NULL DEFAULT 0
) WITH (fillfactor = 70);

CREATE INDEX team_month_live_township_idx ON team_month_live (township_id);

INSERT INTO team_month_live (team_id) SELECT id FROM teams;

-- Marks a team's row dirty: takes the row's KEY SHARE lock and, when the
-- row is clean, updates it. PL/pgSQL, so that each connection plans it once
-- (a LANGUAGE sql function is planned on every call).
CREATE FUNCTION team_month_mark(team BIGINT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE d BIGINT;
BEGIN
    SELECT dirty INTO d FROM team_month_live WHERE team_id = team FOR KEY SHARE;
    IF d = 0 THEN
        UPDATE team_month_live SET dirty = 1 WHERE team_id = team AND dirty = 0;
    END IF;
END $$;

-- Row triggers on the tables a message writes (one row, one call). The
-- commonest, on rows with their own team, marks inline: a nested call costs
-- as much as the lock.
CREATE FUNCTION team_month_touch_by_team() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE t BIGINT; d BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN t := OLD.team_id; ELSE t := NEW.team_id; END IF;
    SELECT dirty INTO d FROM team_month_live WHERE team_id = t FOR KEY SHARE;
    IF d = 0 THEN
        UPDATE team_month_live SET dirty = 1 WHERE team_id = t AND dirty = 0;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.team_id <> NEW.team_id THEN
        PERFORM team_month_mark(OLD.team_id);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION team_month_touch_by_task() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        PERFORM team_month_mark(team_id) FROM tasks WHERE id = NEW.task_id;
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.task_id <> NEW.task_id) THEN
        PERFORM team_month_mark(team_id) FROM tasks WHERE id = OLD.task_id;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION team_month_touch_by_project() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        PERFORM team_month_mark(team_id) FROM projects WHERE id = NEW.project_id;
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.project_id <> NEW.project_id) THEN
        PERFORM team_month_mark(team_id) FROM projects WHERE id = OLD.project_id;
    END IF;
    RETURN NULL;
END $$;

-- Statement triggers, with transition tables, on the tables written in bulk
-- (a registry import of thousands of households marks its teams once each,
-- in team order).
CREATE FUNCTION team_month_touch_by_village() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM team_month_mark(t.id) FROM (SELECT id FROM teams WHERE village_id IN (
            SELECT village_id FROM new_rows) ORDER BY id) t;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM team_month_mark(t.id) FROM (SELECT id FROM teams WHERE village_id IN (
            SELECT village_id FROM old_rows) ORDER BY id) t;
    ELSE
        PERFORM team_month_mark(t.id) FROM (SELECT id FROM teams WHERE village_id IN (
            SELECT village_id FROM new_rows UNION SELECT village_id FROM old_rows) ORDER BY id) t;
    END IF;
    RETURN NULL;
END $$;

-- A team moved to another village counts that village's households.
CREATE FUNCTION team_month_touch_team() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM team_month_mark(t.id) FROM (SELECT id FROM new_rows ORDER BY id) t;
    RETURN NULL;
END $$;

-- A new team gets its row before anything can be written for it.
CREATE FUNCTION team_month_new_team() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO team_month_live (team_id) SELECT id FROM new_rows ON CONFLICT (team_id) DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER team_month_new_team AFTER INSERT ON teams
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION team_month_new_team();
CREATE TRIGGER team_month_touch_u AFTER UPDATE ON teams
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION team_month_touch_team();
CREATE TRIGGER team_month_touch_i AFTER INSERT ON households
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION team_month_touch_by_village();
CREATE TRIGGER team_month_touch_u AFTER UPDATE ON households
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION team_month_touch_by_village();
CREATE TRIGGER team_month_touch_d AFTER DELETE ON households
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION team_month_touch_by_village();

-- Every other table whose rows 排名 counts: inserts, updates and deletes.
DO $$
DECLARE r RECORD;
BEGIN
    FOR r IN SELECT * FROM (VALUES
        ('tasks', 'team_month_touch_by_team'),
        ('ratings', 'team_month_touch_by_team'),
        ('visits', 'team_month_touch_by_team'),
        ('services', 'team_month_touch_by_team'),
        ('projects', 'team_month_touch_by_team'),
        ('team_roles', 'team_month_touch_by_team'),
        ('task_owners', 'team_month_touch_by_task'),
        ('project_updates', 'team_month_touch_by_project')) AS v (tbl, fn)
    LOOP
        EXECUTE format('CREATE TRIGGER team_month_touch AFTER INSERT OR UPDATE OR DELETE ON %I '
            'FOR EACH ROW EXECUTE FUNCTION %I()', r.tbl, r.fn);
    END LOOP;
END $$;
