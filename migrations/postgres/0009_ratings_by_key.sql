-- Every 评价 reply sums the team's week of ratings, and the Friday airing
-- does too. With the person and score in an index the week's ratings are
-- read from the index alone. (SQLite's 0009 rebuilds the table WITHOUT ROWID
-- for the same reason; here an index is added, so that a replica of the
-- previous release keeps running during a rolling upgrade.)
CREATE INDEX ratings_team_week_score_idx ON ratings (team_id, week) INCLUDE (person_id, score);
