-- Views the dashboards draw from (battrace/store/panels.py): transit per consignment, dwell per hub, and the health
-- of each log's checkpoints. Shared by the offline report (`battrace dashboard`) and the Grafana dashboards.

-- One row per consignment: its lane, mode and carbon (projection) with the times its sealed events give.
-- transit_h: Departed to Arrived; NULL while the consignment has not arrived.
CREATE VIEW IF NOT EXISTS battrace.shipment_transit AS
SELECT
    s.shipment_id AS shipment_id,
    s.mode AS mode,
    s.origin_site AS origin_site,
    s.destination_site AS destination_site,
    s.status AS status,
    s.distance_km AS distance_km,
    s.transport_kgco2e AS transport_kgco2e,
    t.departed_at AS departed_at,
    t.arrived_at AS arrived_at,
    t.delivered_at AS delivered_at,
    dateDiff('second', t.departed_at, t.arrived_at) / 3600 AS transit_h
FROM (SELECT * FROM battrace.shipments FINAL) AS s
LEFT JOIN
(
    SELECT
        shipment_id,
        minIfOrNull(event_time, kind = 'Departed') AS departed_at,
        maxIfOrNull(event_time, kind = 'Arrived') AS arrived_at,
        maxIfOrNull(event_time, kind = 'Delivered') AS delivered_at
    FROM battrace.events FINAL
    WHERE shipment_id != '' AND kind IN ('Departed', 'Arrived', 'Delivered')
    GROUP BY shipment_id
) AS t ON s.shipment_id = t.shipment_id;

-- One row per consignment and hub geofence it entered: from the ENTER to the EXIT position fix.
-- dwell_h is NULL while the consignment is still inside.
CREATE VIEW IF NOT EXISTS battrace.hub_dwell AS
SELECT
    shipment_id,
    JSONExtractString(payload, 'body', 2, 'geofence_id') AS hub,
    minIfOrNull(event_time, JSONExtractString(payload, 'body', 2, 'geofence') = 'ENTER') AS entered_at,
    maxIfOrNull(event_time, JSONExtractString(payload, 'body', 2, 'geofence') = 'EXIT') AS exited_at,
    dateDiff('second', entered_at, exited_at) / 3600 AS dwell_h
FROM battrace.events FINAL
WHERE kind = 'Position' AND JSONExtractString(payload, 'body', 2, 'geofence') IN ('ENTER', 'EXIT')
GROUP BY shipment_id, hub;

-- Per log: its newest signed checkpoint, how many entries the store holds, how many no checkpoint covers yet, and
-- the checkpoint's age (from its created_at, which is not signed: an operational figure).
CREATE VIEW IF NOT EXISTS battrace.checkpoint_health AS
SELECT
    c.log_id AS log_id,
    c.checkpoints AS checkpoints,
    c.newest_size AS size,
    c.newest_root AS root,
    c.newest_at AS newest_at,
    e.log_entries AS entries,
    toInt64(e.log_entries) - toInt64(c.newest_size) AS uncovered,
    dateDiff('millisecond', c.newest_at, now64(3)) / 1000 AS age_s
FROM
(
    SELECT
        log_id,
        count() AS checkpoints,
        max(size) AS newest_size,
        argMax(root, size) AS newest_root,
        argMax(created_at, size) AS newest_at
    FROM battrace.checkpoints FINAL
    GROUP BY log_id
) AS c
LEFT JOIN
(
    SELECT log_id, count() AS log_entries FROM battrace.log_entries FINAL GROUP BY log_id
) AS e ON c.log_id = e.log_id;
