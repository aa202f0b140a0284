-- The yearly duties ("1+1" and 五上门): the household registry of each
-- village (admin CSV import) with the link from a visit to the household it
-- reached, and each team's hard projects. Keep identical (but for the id
-- columns) to migrations/postgres/0004_yearly_duties.sql.
CREATE TABLE households (
    id         INTEGER PRIMARY KEY,
    village_id BIGINT NOT NULL REFERENCES villages(id),
    -- How villagers name the household: 张三, 张大爷 …
    name       TEXT   NOT NULL,
    -- The 小组 as digits ("3" for 3组 / 第三组 / 三组); '' when the village has none.
    subgroup   TEXT   NOT NULL DEFAULT '',
    phone      TEXT,
    created_at BIGINT NOT NULL,
    CONSTRAINT households_village_name_subgroup_key UNIQUE (village_id, name, subgroup)
);

-- NULL: the visit named a household that is not (yet) in the registry.
ALTER TABLE visits ADD COLUMN household_id BIGINT REFERENCES households(id);
CREATE INDEX visits_household_idx ON visits (household_id);

-- Hard projects (难点项目): at least one per team a year, named by the team.
-- state: 'open' or 'done'.
CREATE TABLE projects (
    id         INTEGER PRIMARY KEY,
    team_id    BIGINT NOT NULL REFERENCES teams(id),
    year       BIGINT NOT NULL,
    name       TEXT   NOT NULL,
    state      TEXT   NOT NULL DEFAULT 'open',
    created_by BIGINT NOT NULL REFERENCES people(id),
    created_at BIGINT NOT NULL,
    done_at    BIGINT,
    done_by    BIGINT REFERENCES people(id),
    CONSTRAINT projects_team_year_name_key UNIQUE (team_id, year, name)
);

-- 进展 and 完成 reports on a project, in order; week is the ISO week (2026-W49).
CREATE TABLE project_updates (
    id         INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    person_id  BIGINT NOT NULL REFERENCES people(id),
    week       TEXT   NOT NULL,
    text       TEXT   NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX project_updates_project_idx ON project_updates (project_id);
