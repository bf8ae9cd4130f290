-- Service tokens for machine clients (SQLite twin of migrations/postgres/0004_service_tokens.sql).
-- A token's secret (`mitx_` + 40 hex characters) is shown to the operator once and never
-- stored: only its SHA-256 hex digest is kept, so a leaked database grants no access.
-- Scopes are space-separated (`catalog:read`). A revoked token stays listed with its
-- revocation time; names are never reused.
CREATE TABLE service_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    token_hash TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    scopes TEXT NOT NULL DEFAULT '',
    created_on TEXT NOT NULL,
    last_used_on TEXT,
    revoked_on TEXT
);
