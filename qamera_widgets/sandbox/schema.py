"""The sandbox database's tables: accounts and their ledgers, API keys, sceneries (the work queue too),
batches and idempotency records. `Store` creates them and checks an existing file against them."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    granted INTEGER NOT NULL,
    available INTEGER NOT NULL,
    reserved INTEGER NOT NULL,
    consumed INTEGER NOT NULL,
    refunded INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    secret_sha256 TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER,
    revoked_ms INTEGER
);
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    order_id TEXT NOT NULL,
    reservation_id TEXT NOT NULL,
    preferences TEXT NOT NULL,
    count INTEGER NOT NULL,
    credits_reserved INTEGER NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sceneries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    batch_id TEXT REFERENCES batches(id),
    name TEXT NOT NULL,
    prompt TEXT NOT NULL,
    item_index INTEGER NOT NULL,
    status TEXT NOT NULL,
    voting TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    price INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sceneries_by_account ON sceneries(account_id, created_ms);
CREATE INDEX IF NOT EXISTS sceneries_by_status ON sceneries(status, seq);
CREATE TABLE IF NOT EXISTS idempotency (
    account_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    response TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
);
"""
