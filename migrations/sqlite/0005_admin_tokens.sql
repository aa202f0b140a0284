-- Township-scoped bearer tokens of the admin API, issued by the city admin.
-- Only the SHA-256 (hex) of a token is kept; the token itself is shown once.
-- Keep identical (but for the id column) to migrations/postgres/0005_admin_tokens.sql.
CREATE TABLE admin_tokens (
    id          INTEGER PRIMARY KEY,
    township_id BIGINT NOT NULL REFERENCES townships(id),
    name        TEXT   NOT NULL,
    token_hash  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    -- NULL while the token works; set once by DELETE /api/v1/tokens/{id}.
    revoked_at  BIGINT,
    CONSTRAINT admin_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX admin_tokens_township_idx ON admin_tokens (township_id);
