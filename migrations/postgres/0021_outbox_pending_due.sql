-- The outbox claim (store::outbox::claim_due) asks for the oldest due
-- pending rows, `ORDER BY next_attempt_at, id`; on PostgreSQL each replica
-- locks what it takes with FOR UPDATE SKIP LOCKED. This index holds only the
-- pending rows, in that order, so a claim reads the rows it returns and the
-- few the other replicas hold, never the sent history before them.
CREATE INDEX outbox_pending_due_idx ON outbox (next_attempt_at, id) WHERE state = 'pending';
