-- A task left open past its week is carried over (结转) into the next week's
-- list. Once a carried task is postponed its deadline moves on, but it was
-- still not done on time in its own week: carried_over = 1 keeps it out of
-- the on-time counts of the airing and the ranking.
ALTER TABLE tasks ADD COLUMN carried_over BIGINT NOT NULL DEFAULT 0;
