-- Deliveries (engine.DeliveryStore): every request to a flow's webhook URL,
-- refused ones included, bounded per flow. Ids are ULIDs: id order is time order.
CREATE TABLE deliveries (
    flow_id text COLLATE "C" NOT NULL,
    id      text COLLATE "C" NOT NULL,
    outcome text NOT NULL,
    doc     bytea NOT NULL,
    PRIMARY KEY (flow_id, id)
);
