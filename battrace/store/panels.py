"""The dashboards' panels: each one's SQL and how it is drawn, kept in one place for every place that draws them.

The offline report (`battrace dashboard --out`) and the provisioned Grafana dashboards (`battrace dashboard
--grafana`, deploy/grafana/) both read this module, so a figure in the report and the same panel in Grafana run the
same statement. Pure data: no ClickHouse client here (battrace/store/panel_rows.py runs the statements).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Chart = Literal["bar", "stacked_bar", "line"]


@dataclass(frozen=True)
class Panel:
    """One figure: the statement that computes it and which of its columns are drawn how.

    ``x``: the column along the horizontal axis (a category, or a time when ``time_axis``); ``y``: the value columns
    drawn (stacked, for a ``stacked_bar``); ``series``: a column whose values split ``y[0]`` into one trace each (then
    ``y`` has one column);
    ``marks``: columns drawn as markers over the bars (targets, minimums). ``verified``: every number comes from
    rows `battrace verify` recomputes from the sealed events; operational panels (rejects, seal times, checkpoint
    times) are not covered and say so. ``volatile``: columns that depend on the clock (``now()``), so two runs of the
    statement differ there. ``wall_clock``: the time axis is the machine's clock (seal times), not the event times
    of the sources, so a live dashboard shows the last hours of it.
    """

    id: str
    title: str
    description: str
    sql: str
    chart: Chart
    x: str
    y: tuple[str, ...]
    unit: str
    series: str | None = None
    marks: tuple[str, ...] = ()
    time_axis: bool = False
    verified: bool = True
    volatile: tuple[str, ...] = ()
    wall_clock: bool = False


CARBON_PER_KWH = Panel(
    id="carbon_per_kwh",
    title="Carbon footprint per kWh by pack model and plant",
    description=(
        "Mean kg CO2e per kWh of lifetime energy of the packs of each model and plant (EU 2023/1542 Art. 7), by "
        "life-cycle stage, each stage over the packs that have data for it (view footprint_by_model_plant). The total "
        "is the sum of the four stage means, empty while a stage has no data in the group (never counted as 0); "
        "`complete` counts the packs collected, dismantled and recycled with every stage known."
    ),
    sql="""SELECT
    concat(model, ' @ ', site_id) AS model_plant,
    batteries,
    complete_batteries AS complete,
    round(avg_raw_material_per_kwh, 6) AS raw_material,
    round(avg_production_per_kwh, 6) AS production,
    round(avg_distribution_per_kwh, 6) AS distribution,
    round(avg_end_of_life_per_kwh, 6) AS end_of_life,
    round(avg_total_per_kwh, 6) AS total
FROM battrace.footprint_by_model_plant
WHERE product_type = 'pack'
ORDER BY model_plant""",
    chart="stacked_bar",
    x="model_plant",
    y=("raw_material", "production", "distribution", "end_of_life"),
    unit="kg CO2e / kWh",
)

RECYCLED_CONTENT = Panel(
    id="recycled_content",
    title="Recycled content per element against the EU minimums",
    description=(
        "Declared recycled share (pre- plus post-consumer, mass-weighted) of Co, Ni and Li per pack model, plant and "
        "production year (EU 2023/1542 Art. 8), with the 2031 and 2036 minimums as markers. The lead minimum (85 % "
        "from 2031) applies to lead-acid batteries, not to these lithium-ion packs."
    ),
    sql="""SELECT
    concat(element, ': ', model, ' @ ', site_id, ' ', toString(year)) AS declaration,
    element,
    batteries,
    round(declared_share * 100, 4) AS recycled_pct,
    round(target_2031 * 100, 4) AS min_2031_pct,
    round(target_2036 * 100, 4) AS min_2036_pct,
    declared_meets_2031 AS meets_2031,
    declared_meets_2036 AS meets_2036
FROM battrace.recycled_by_model_plant_year
WHERE product_type = 'pack' AND total_element_kg > 0
ORDER BY element, declaration""",
    chart="stacked_bar",
    x="declaration",
    y=("recycled_pct",),
    series="element",
    marks=("min_2031_pct", "min_2036_pct"),
    unit="% recycled",
)

LOT_ELIGIBILITY = Panel(
    id="lot_eligibility",
    title="Lot eligibility by lot class",
    description=(
        "Material lots that may or may not go into compliant output (`battrace audit`): a lot is ineligible when it "
        "or an ancestor has a chain-of-custody gap."
    ),
    sql="""SELECT
    lot_class,
    countIf(eligible) AS eligible_lots,
    countIf(NOT eligible) AS ineligible_lots
FROM battrace.lot_eligibility FINAL
GROUP BY lot_class
ORDER BY lot_class""",
    chart="stacked_bar",
    x="lot_class",
    y=("eligible_lots", "ineligible_lots"),
    unit="lots",
)

CUSTODY_FLAGS = Panel(
    id="custody_flags",
    title="Custody and eligibility flags over time",
    description=(
        "Flags `battrace audit` raised per day of the step that caused them: custody (unlisted or expired "
        "licences) and the lots made ineligible by them."
    ),
    sql="""SELECT
    toDate(event_time) AS day,
    concat(category, ': ', code) AS flag,
    count() AS flags
FROM battrace.flags FINAL
WHERE category IN ('custody', 'eligibility')
GROUP BY day, flag
ORDER BY day, flag""",
    chart="stacked_bar",
    x="day",
    y=("flags",),
    series="flag",
    time_axis=True,
    unit="flags",
)

REJECTS_OVER_TIME = Panel(
    id="rejects_over_time",
    title="Rejected source messages per day and reason",
    description=(
        "Every source message that was not sealed, by the day of its Kafka timestamp and machine-readable reason. "
        "Rejects are mirrored from trace.rejects and are not sealed: `battrace verify` does not cover them."
    ),
    sql="""SELECT
    toDate(kafka_timestamp) AS day,
    reason,
    count() AS rejected
FROM battrace.rejects FINAL
GROUP BY day, reason
ORDER BY day, reason""",
    chart="stacked_bar",
    x="day",
    y=("rejected",),
    series="reason",
    time_axis=True,
    unit="messages",
    verified=False,
)

TRANSIT_BY_LANE = Panel(
    id="transit_by_lane",
    title="Transit time per lane",
    description=(
        "Consignments per lane (origin to destination site) and main mode, with the hours from Departed to Arrived "
        "of those that arrived (view battrace.shipment_transit)."
    ),
    sql="""SELECT
    concat(origin_site, ' → ', destination_site, ' (', mode, ')') AS lane,
    count() AS shipments,
    countIf(arrived_at IS NOT NULL) AS arrived,
    round(avg(transit_h), 2) AS avg_transit_h,
    round(min(transit_h), 2) AS min_transit_h,
    round(max(transit_h), 2) AS max_transit_h,
    round(avg(distance_km), 1) AS avg_distance_km
FROM battrace.shipment_transit
GROUP BY lane
ORDER BY lane""",
    chart="bar",
    x="lane",
    y=("avg_transit_h",),
    marks=("min_transit_h", "max_transit_h"),
    unit="hours",
)

DWELL_BY_HUB = Panel(
    id="dwell_by_hub",
    title="Dwell time per hub",
    description=(
        "Hours consignments spent inside each hub's geofence, from the ENTER to the EXIT position fix (view "
        "battrace.hub_dwell); consignments still inside are left out."
    ),
    sql="""SELECT
    hub,
    count() AS visits,
    round(avg(dwell_h), 2) AS avg_dwell_h,
    round(max(dwell_h), 2) AS max_dwell_h
FROM battrace.hub_dwell
WHERE dwell_h IS NOT NULL
GROUP BY hub
ORDER BY hub""",
    chart="bar",
    x="hub",
    y=("avg_dwell_h",),
    marks=("max_dwell_h",),
    unit="hours",
)

SEALED_PER_MINUTE = Panel(
    id="sealed_per_minute",
    title="Chain rows sealed per minute and log",
    description=(
        "Pipeline throughput: sealed chain rows per minute of their seal time, per log. Seal times are the worker's "
        "clock, not signed: an operational figure."
    ),
    sql="""SELECT
    toStartOfMinute(sealed_at) AS minute,
    log_id,
    count() AS sealed
FROM battrace.sealed FINAL
GROUP BY minute, log_id
ORDER BY minute, log_id""",
    chart="line",
    x="minute",
    y=("sealed",),
    series="log_id",
    time_axis=True,
    unit="rows / minute",
    verified=False,
    wall_clock=True,
)

CHECKPOINT_HEALTH = Panel(
    id="checkpoint_health",
    title="Checkpoint age per log",
    description=(
        "Seconds since each log's newest signed checkpoint was made, and how many of its entries no checkpoint "
        "covers yet (view battrace.checkpoint_health). The age is taken from the checkpoint's created_at, which is "
        "not signed."
    ),
    sql="""SELECT
    log_id,
    checkpoints,
    size,
    entries,
    uncovered,
    round(age_s, 1) AS age_s
FROM battrace.checkpoint_health
ORDER BY log_id""",
    chart="bar",
    x="log_id",
    y=("age_s",),
    unit="seconds",
    verified=False,
    volatile=("age_s",),
)

PANELS: tuple[Panel, ...] = (
    CARBON_PER_KWH,
    RECYCLED_CONTENT,
    LOT_ELIGIBILITY,
    CUSTODY_FLAGS,
    REJECTS_OVER_TIME,
    TRANSIT_BY_LANE,
    DWELL_BY_HUB,
    SEALED_PER_MINUTE,
    CHECKPOINT_HEALTH,
)

NEWEST_CHECKPOINTS = """SELECT log_id, size, root
FROM battrace.checkpoint_health
ORDER BY log_id"""
"""The newest signed checkpoint of each log: what every figure was computed at."""
