-- Every 评价 reply sums the team's week of ratings, and the Friday airing
-- does too. Kept in a rowid table, each of the week's ratings cost a second
-- lookup (its score is not in the key's index): about 150 µs for a team
-- with 160 raters, on the writer. Keyed by (team, week, person) itself, the
-- week's ratings are one range of one b-tree, and an upsert writes one
-- b-tree instead of two.
--
-- SQLite's update hook does not report changes to a WITHOUT ROWID table:
-- nothing the writer keeps (store::local) may be built from ratings.
CREATE TABLE ratings_by_key (
    team_id   BIGINT NOT NULL REFERENCES teams(id),
    week      TEXT   NOT NULL,
    person_id BIGINT NOT NULL REFERENCES people(id),
    score     BIGINT NOT NULL,
    comment   TEXT   NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (team_id, week, person_id)
) WITHOUT ROWID;
INSERT INTO ratings_by_key (team_id, week, person_id, score, comment, at)
    SELECT team_id, week, person_id, score, comment, at FROM ratings;
DROP TABLE ratings;
ALTER TABLE ratings_by_key RENAME TO ratings;
