-- Several nodes (engine.Cluster). Cluster-wide locks (the starters' holder):
-- a node holds a lock until expires_at and renews it; an expired one may be
-- taken by another node (INSERT … ON CONFLICT … WHERE decides, exactly).
CREATE TABLE locks (
    name       text COLLATE "C" PRIMARY KEY,
    owner      text NOT NULL,
    expires_at timestamptz NOT NULL
);
