"""The GS1 event hash against GS1's published examples, and the properties the algorithm promises.

The documents and their expected hashes are the reference implementation's own published examples
(tests/unit/epcis/data/README.md records the source and commit); battrace computes them through the
reference implementation, offline.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from battrace.epcis.event_hash import EventHashError, event_hashes

DATA = Path(__file__).parent / "data"
EXAMPLES = sorted(p.stem for p in DATA.glob("*.jsonld"))


def _load(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.jsonld").read_text(encoding="utf-8"))


def _expected(name: str) -> list[str]:
    return [line for line in (DATA / f"{name}.hashes").read_text().split() if line.startswith("ni:///")]


@pytest.mark.parametrize("name", EXAMPLES)
def test_published_examples_give_their_published_hashes(name: str) -> None:
    assert len(EXAMPLES) == 4
    expected = _expected(name)
    assert expected, f"{name}.hashes holds no hash"
    assert event_hashes(_load(name)) == expected


def test_every_hash_is_a_sha256_ni_uri_of_cbv_2() -> None:
    for value in event_hashes(_load("epcisDocWithVariousEventTypes")):
        assert value.startswith("ni:///sha-256;") and value.endswith("?ver=CBV2.0")
        assert len(value.split(";")[1].split("?")[0]) == 64


def test_a_changed_event_gets_another_hash_and_the_others_keep_theirs() -> None:
    original = _load("epcisDocWithVariousEventTypes")
    before = event_hashes(original)
    changed = copy.deepcopy(original)
    event = changed["epcisBody"]["eventList"][0]
    assert not event["eventTime"].startswith("2001-")
    event["eventTime"] = "2001-02-03T04:05:06.789Z"
    after = event_hashes(changed)
    assert after[0] != before[0]
    assert after[1:] == before[1:]


def test_a_changed_epc_gets_another_hash() -> None:
    original = _load("epcisDocWithSingleEvent")
    changed = copy.deepcopy(original)
    changed["epcisBody"]["eventList"][0]["epcList"][1] = "urn:epc:id:sgtin:0614141.107346.2019"
    assert event_hashes(changed) != event_hashes(original)


def test_list_and_field_order_do_not_change_the_hash() -> None:
    original = _load("epcisDocWithSingleEvent")
    reordered = copy.deepcopy(original)
    event = reordered["epcisBody"]["eventList"][0]
    event["epcList"].reverse()
    reordered["epcisBody"]["eventList"][0] = dict(reversed(list(event.items())))
    assert next(iter(reordered["epcisBody"]["eventList"][0])) != "type"
    assert event_hashes(reordered) == event_hashes(original)


def test_the_same_instant_in_another_offset_and_an_event_id_do_not_change_the_hash() -> None:
    original = _load("epcisDocWithSingleEvent")  # eventTime 2022-02-16T20:33:31.116000-06:00
    same = copy.deepcopy(original)
    event = same["epcisBody"]["eventList"][0]
    event["eventTime"] = "2022-02-17T02:33:31.116Z"
    event["eventID"] = "urn:uuid:4d1f4b6e-2c43-4a38-9b7a-1b1f1a1f1a1f"  # not part of the hash
    assert event_hashes(same) == event_hashes(original)


def test_a_remote_context_is_refused_not_downloaded() -> None:
    document = _load("epcisDocWithSingleEvent")
    document["@context"][0] = "https://example.com/other-context.jsonld"
    with pytest.raises(EventHashError, match=r"https://example\.com/other-context\.jsonld is not available offline"):
        event_hashes(document)


@pytest.mark.parametrize(
    "document",
    [{"type": "EPCISDocument", "epcisBody": {"eventList": []}}, {"@context": [], "type": "EPCISDocument"}, [1, 2]],
)
def test_what_is_not_an_epcis_json_ld_document_is_refused(document: Any) -> None:
    with pytest.raises(EventHashError):
        event_hashes(document)
