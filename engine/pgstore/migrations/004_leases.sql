-- Run leases (phase 2 groundwork): the node executing a pending run holds
-- it until lease_expires_at and renews it; an expired lease may be taken
-- over by another node.
ALTER TABLE runs ADD COLUMN lease_owner text, ADD COLUMN lease_expires_at timestamptz;
