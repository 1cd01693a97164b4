-- Wait steps' outcomes (engine.ResumeStore): the request that resumed a
-- step, or its timeout; the primary key makes the first claim win.
CREATE TABLE resumes (
    run_id  text COLLATE "C" NOT NULL,
    step_id text COLLATE "C" NOT NULL,
    value   bytea NOT NULL,
    PRIMARY KEY (run_id, step_id)
);
