-- Connections (engine.ConnectionStore): records whose secret parts the
-- caller sealed, the OAuth states of authorizations under way (each taken
-- once: DELETE … RETURNING), and the app files users imported.
CREATE TABLE connections (
    name   text COLLATE "C" PRIMARY KEY,
    record bytea NOT NULL
);

CREATE TABLE oauth_states (
    hash       text PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE app_files (
    id   text COLLATE "C" PRIMARY KEY,
    data bytea NOT NULL
);
