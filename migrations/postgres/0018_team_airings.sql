-- The weeks whose airing a team has had. A villager's 评价 counts for the
-- week of the latest airing (so it is accepted until the next week's
-- airing), and the airing shows the previous week's final rating.
CREATE TABLE team_airings (
    team_id  BIGINT NOT NULL REFERENCES teams(id),
    week     TEXT   NOT NULL,
    aired_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, week)
);
