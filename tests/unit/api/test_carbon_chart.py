"""The carbon bar chart's geometry: proportional bars, absent stages drawn as absent, never as zero."""

from __future__ import annotations

from battrace.api.carbon_chart import LABEL_WIDTH, VALUE_ROOM, WIDTH, stage_chart

STAGES = ("raw_material", "production", "distribution", "end_of_life")


def test_bars_are_proportional_and_the_largest_fills_the_room() -> None:
    chart = stage_chart({"raw_material": 200.0, "production": 50.0, "distribution": 0.0}, STAGES, "kg CO2e")
    widths = {b.stage: b.width for b in chart.bars}
    assert widths["raw_material"] == WIDTH - LABEL_WIDTH - VALUE_ROOM
    assert widths["production"] == widths["raw_material"] / 4
    assert widths["distribution"] == 0.0 and chart.bars[2].text == "0.000"  # a measured zero is a figure


def test_a_stage_without_data_says_so() -> None:
    chart = stage_chart({"raw_material": 1.0, "end_of_life": None}, STAGES, "kg CO2e")
    missing = [b for b in chart.bars if b.value is None]
    assert [b.stage for b in missing] == ["production", "distribution", "end_of_life"]
    assert all(b.text == "no data" and b.width == 0 for b in missing)


def test_bars_keep_the_stage_order_and_do_not_overlap() -> None:
    chart = stage_chart({s: 1.0 for s in STAGES}, STAGES, "kg CO2e")
    assert [b.label for b in chart.bars] == ["Raw material", "Production", "Distribution", "End of life"]
    assert all(b.y + b.height < nxt.y for b, nxt in zip(chart.bars, chart.bars[1:], strict=False))
    assert chart.height == chart.bars[-1].y + chart.bars[-1].height


def test_a_credit_is_drawn_by_magnitude_with_its_sign() -> None:
    chart = stage_chart({"raw_material": 10.0, "end_of_life": -5.0}, STAGES, "kg CO2e")
    credit = chart.bars[3]
    assert credit.width == chart.bars[0].width / 2 and credit.text == "-5.000"


def test_no_data_at_all_draws_no_bar() -> None:
    chart = stage_chart({}, STAGES, "kg CO2e")
    assert all(b.width == 0 and b.text == "no data" for b in chart.bars)
