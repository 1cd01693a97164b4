-- Hookflow schema, version 1. Records are the engine's JSON (bytea), as in
-- boltstore; the columns beside them are what queries filter and sort on.
-- Ids and names sort bytewise (COLLATE "C"): run ids are ULIDs, so id order
-- is creation order.

CREATE TABLE flows (
    id      text COLLATE "C" PRIMARY KEY,
    version integer NOT NULL,
    doc     bytea NOT NULL
);

CREATE TABLE flow_versions (
    flow_id text COLLATE "C" NOT NULL,
    version integer NOT NULL,
    doc     bytea NOT NULL,
    PRIMARY KEY (flow_id, version)
);

CREATE TABLE samples (
    flow_id text COLLATE "C" PRIMARY KEY,
    doc     bytea NOT NULL
);

-- record is the run without its trigger; trigger is written once, at create.
-- id_time is the time in the ULID id (created_at for other ids): prune and
-- count use it, like boltstore's index. Only columns that never change are
-- indexed, and pages keep room (fillfactor), so that checkpoints are HOT
-- updates: no index writes. Pending runs (queued, running, waiting) are
-- listed in runs_pending, written in the statements that create and save
-- the run.
CREATE TABLE runs (
    id         text COLLATE "C" PRIMARY KEY,
    flow_id    text COLLATE "C" NOT NULL,
    status     text NOT NULL,
    created_at timestamptz NOT NULL,
    id_time    timestamptz NOT NULL,
    record     bytea NOT NULL,
    trigger    bytea NOT NULL
) WITH (fillfactor = 70);
CREATE INDEX runs_by_flow ON runs (flow_id, id);

CREATE TABLE runs_pending (
    id text COLLATE "C" PRIMARY KEY
);

-- Dedupe is exact through the primary key: INSERT … ON CONFLICT.
-- expires_at is unix nanoseconds (never: the largest bigint); run_id is ''
-- for keys recorded by MarkSeen.
CREATE TABLE dedupe (
    flow_id    text COLLATE "C" NOT NULL,
    key        bytea NOT NULL,
    run_id     text NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (flow_id, key)
);

CREATE TABLE kv (
    key        bytea PRIMARY KEY,
    value      bytea,
    expires_at timestamptz,
    updated_at timestamptz NOT NULL
);

CREATE TABLE secrets (
    name   text COLLATE "C" PRIMARY KEY,
    sealed bytea NOT NULL
);

CREATE TABLE meta (
    name  text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE trigger_state (
    flow_id text COLLATE "C" NOT NULL,
    name    text COLLATE "C" NOT NULL,
    value   bytea NOT NULL,
    PRIMARY KEY (flow_id, name)
);

CREATE TABLE users (
    id        text COLLATE "C" PRIMARY KEY,
    email_key text NOT NULL UNIQUE,
    doc       bytea NOT NULL
);

CREATE TABLE tokens (
    id   text COLLATE "C" PRIMARY KEY,
    hash text NOT NULL UNIQUE,
    doc  bytea NOT NULL
);

CREATE TABLE sessions (
    id      text PRIMARY KEY,
    user_id text NOT NULL,
    doc     bytea NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE health (
    name text PRIMARY KEY,
    at   timestamptz NOT NULL
);
