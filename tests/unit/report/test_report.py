"""The traceability report: missing inputs stay missing, RFC 8785 hashing, two-role signatures, schema, QR, seal.

RFC 8785 vectors are copied from RFC 8785 (JSON Canonicalization Scheme, June 2020):
* §3.2.2 "Serialization of Primitive Data Types" sample input and its canonical output;
* §3.2.3 "Sorting of Object Properties" sample (UTF-16 code-unit order);
* Appendix B "Number Serialization Samples" (IEEE 754 bit pattern -> JSON text), finite rows.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import struct
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from battrace.domain.transport import transport_chain
from battrace.report import (
    MANUFACTURER_QA,
    THIRD_PARTY_VERIFIER,
    LotFacts,
    ShipmentFacts,
    add_signature,
    build_report,
    canonical_json,
    inclusion_from_row,
    report_hash,
    report_url,
    sign_report,
    transport_emissions,
    unsigned,
    verify_report,
    verify_seal,
    write_qr,
)
from battrace.report.model import (
    FIELDS,
    CustodyParty,
    Missing,
    RecycledShare,
    RefiningIntensity,
    SealReference,
    TransportEmissions,
    VerificationEvent,
    parse_rfc3339_ms,
    rfc3339_ms,
)
from battrace.report.signing import SigningError, signature_message
from battrace.tlog import Checkpoint, generate_signer, inclusion_proof, leaf_hash, root_hash, sign_checkpoint

SCHEMA = json.loads((Path(__file__).parents[3] / "docs" / "report.schema.json").read_text(encoding="utf-8"))
T = 1_767_225_600_000  # 2026-01-01T00:00:00.000Z, the Delivered event
DAY = 86_400_000

# --------------------------------------------------------------------------- RFC 8785

APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("ieee754", "expected"), APPENDIX_B)
def test_rfc8785_appendix_b_numbers(ieee754: str, expected: str) -> None:
    (value,) = struct.unpack(">d", bytes.fromhex(ieee754))
    assert canonical_json(value) == expected.encode()


@pytest.mark.parametrize("ieee754", ["7fffffffffffffff", "7ff0000000000000"])  # Appendix B: NaN, Infinity
def test_rfc8785_refuses_nan_and_infinity(ieee754: str) -> None:
    (value,) = struct.unpack(">d", bytes.fromhex(ieee754))
    with pytest.raises(ValueError):
        canonical_json({"x": value})


def test_rfc8785_section_3_2_2_sample() -> None:
    text = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical_json(json.loads(text)) == expected.encode("utf-8")


def test_rfc8785_section_3_2_3_sorting() -> None:
    text = (
        '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh",'
        ' "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",'
        ' "\\u00f6": "Latin Small Letter O With Diaeresis"}'
    )
    order = [json.loads(f'"{k}"') for k in ("\\r", "1", "\\u0080", "\\u00f6", "\\u20ac", "\\ud83d\\ude00", "\\ufb33")]
    out = canonical_json(json.loads(text)).decode("utf-8")
    assert list(json.loads(out)) == order
    assert out.startswith('{"\\r":"Carriage Return","1":"One","\u0080":"Control"')


def test_report_hash_is_sha256_of_the_canonical_form() -> None:
    a = {"b": [1, 2.5], "a": "x"}
    b = json.loads('{ "a" : "x", "b" : [1.0, 2.50] }')
    assert canonical_json(a) == b'{"a":"x","b":[1,2.5]}'
    assert report_hash(a) == report_hash(b) == hashlib.sha256(b'{"a":"x","b":[1,2.5]}').hexdigest()


# --------------------------------------------------------------------------- fixtures


def _lots() -> list[LotFacts]:
    common = {"lab_id": "LAB-1", "accreditation": "CNAS L1234", "assayed_at_ms": T - 3 * DAY}
    return [
        LotFacts(
            "L1",
            consumed_kg=10.0,
            product="NCM811 cathode",
            origin_country="CN",
            smelter_id="CID000468",
            mine_licences=("PE 1234",),
            refining_kgco2e_per_kg=12.5,
            refining_factor_id="assay:L1:ev1",
            fractions={"Co": 0.06, "Ni": 0.48, "Li": 0.07, "Mn": 0.06},
            certificate_ref="CERT-1",
            recycled_pre_consumer=0.10,
            recycled_post_consumer=0.05,
            **common,
        ),
        LotFacts(
            "L2",
            consumed_kg=2.0,
            product="cobalt sulfate",
            origin_country="CN",
            refining_kgco2e_per_kg=3.2,
            fractions={"Co": 0.20},
            certificate_ref="CERT-2",
            recovered=True,
            **common,
        ),
        LotFacts(
            "L3",
            consumed_kg=1.0,
            product="lithium carbonate",
            origin_country="CL",
            smelter_id="CID002831",
            mine_licences=("CL-ATA-7", "PE 1234"),
            refining_kgco2e_per_kg=3.1,
            fractions={"Li": 0.188},
            certificate_ref="CERT-3",
            recycled_post_consumer=0.5,
            **common,
        ),
    ]


def _seal(records: list[bytes], log: Any) -> SealReference:
    """A 5-leaf log holding the records at indices 1 and 3, and its signed checkpoint."""
    entries = [b'{"kind":"gap","offset":0}', records[0], b'{"kind":"gap","offset":2}', records[1], b"x"]
    hashes = [leaf_hash(e) for e in entries]
    note = sign_checkpoint(Checkpoint("battrace/log/0", len(entries), root_hash(hashes)), log)
    inclusions = tuple(
        inclusion_from_row(entity, "battrace/log/0", i, len(entries), entries[i], inclusion_proof(hashes, i))
        for entity, i in (("battery:B1", 1), ("shipment:C1", 3))
    )
    return SealReference((note,), inclusions)


@pytest.fixture(scope="module")
def log_signer() -> Any:
    return generate_signer("battrace/log/0")


@pytest.fixture
def shipment(log_signer: Any) -> ShipmentFacts:
    road = transport_chain(1000.0, [["ROAD", "R1", None]], [250.0])
    return ShipmentFacts(
        shipment_id="C1",
        delivered_at_ms=T,
        battery_ids=("B1", "B2"),
        transport=transport_emissions(road, {"B1": 450.0, "B2": 450.0}, ["B1", "B2"]),
        custody=(
            CustodyParty("transporter", "T1", "TL-001", True),
            CustodyParty("receiver", "R1", "RF-9", True),
        ),
        verifications=(VerificationEvent("AUD-7", "audit", "AUDIT-2025-12", rfc3339_ms(T - 30 * DAY)),),
        seal=_seal([b'{"entity":"battery:B1","seq":3}', b'{"entity":"shipment:C1","seq":5}'], log_signer),
    )


@pytest.fixture(scope="module")
def signers() -> dict[str, Any]:
    return {MANUFACTURER_QA: generate_signer("acme-qa"), THIRD_PARTY_VERIFIER: generate_signer("tuv-verifier")}


@pytest.fixture(scope="module")
def trusted(signers: dict[str, Any]) -> dict[str, str]:
    return {role: s.verifier_key() for role, s in signers.items()}


# --------------------------------------------------------------------------- the report


def test_complete_report(shipment: ShipmentFacts) -> None:
    """Hand values: see tests/unit/domain/test_recycled.py for the same three lots.

    Co 49 %, Ni 15 %, Li 0.199 / 0.888 = 22.41 %; transport 1 t x 250 km x 126 g = 31.5 kg,
    450 / 900 of it (15.75 kg) per pack.
    """
    r = build_report(shipment, _lots())
    assert r.missing_fields == ()
    assert r.delivered_at == "2026-01-01T00:00:00.000Z" and r.lot_ids == ("L1", "L2", "L3")
    co, ni, li = r.recycled_cobalt, r.recycled_nickel, r.recycled_lithium
    assert isinstance(co, RecycledShare) and isinstance(ni, RecycledShare) and isinstance(li, RecycledShare)
    assert (co.percent, co.pre_consumer_percent, co.post_consumer_percent) == pytest.approx((49.0, 6.0, 43.0))
    assert ni.percent == pytest.approx(15.0) and li.percent == pytest.approx(100 * 0.199 / 0.888)
    assert r.smelter_ids == ("CID000468", "CID002831")  # L2 is recovered: no smelter needed
    assert r.mine_licences == ("CL-ATA-7", "PE 1234")
    t = r.transport_emissions
    assert isinstance(t, TransportEmissions)
    assert (t.kg_co2e, t.t_km, t.scope, t.modes) == (pytest.approx(31.5), 250.0, "TTW", ("ROAD",))
    assert [(e.kind, e.what, e.factor_id) for e in t.chain] == [("leg", "ROAD", "defra.hgv.average")]
    assert t.allocation_kg == pytest.approx({"B1": 15.75, "B2": 15.75}) and t.allocation_method == "mass"
    verifications, composition = r.verification_timestamps, r.elemental_composition
    assert isinstance(verifications, tuple) and isinstance(composition, tuple)
    assert [v.kind for v in verifications] == ["audit", "assay", "assay", "assay"]
    assert composition[0].fractions == {"Co": 0.06, "Ni": 0.48, "Li": 0.07}
    assert composition[2].fractions == {"Li": 0.188}  # unreported elements stay absent, not 0
    doc = r.to_json()
    assert list(doc["fields"]) == list(FIELDS) and doc["missing_fields"] == []


def test_missing_inputs_are_reported_missing_never_defaulted(shipment: ShipmentFacts) -> None:
    lots = _lots()
    lots[0] = replace(lots[0], refining_kgco2e_per_kg=None, origin_country=None, mine_licences=())
    lots[2] = replace(lots[2], smelter_id="CID12", fractions=None)
    bare = replace(shipment, transport=None, custody=shipment.custody[:1], seal=None, verifications=())
    r = build_report(bare, lots)
    assert r.missing_fields == (
        "cathode_material_origin",
        "refining_carbon_intensity",
        "recycled_cobalt",
        "smelter_ids",
        "mine_licences",
        "transport_emissions",
        "recycled_nickel",
        "recycled_lithium",
        "elemental_composition",
        "chain_of_custody",
        "seal",
    )
    f = r.to_json()["fields"]
    # a secondary refining factor exists for NCM inputs, but the report must not use it
    assert f["refining_carbon_intensity"] == {"missing": "no supplier refining intensity for lot(s) L1"}
    assert f["smelter_ids"] == {"missing": "no valid RMI smelter id (CID + 6 digits) for lot(s) L3"}
    assert f["recycled_cobalt"] == {"missing": "consumed mass or assay missing for lot(s) L3"}
    assert f["chain_of_custody"] == {"missing": "no licensed receiver recorded for the consignment"}
    assert "L1" in f["cathode_material_origin"]["missing"] and "L1" in f["mine_licences"]["missing"]
    assert isinstance(f["verification_timestamps"], list)  # the labs' assay times are still there
    jsonschema.validate(unsigned(r), SCHEMA)


def test_no_lots_and_absent_elements(shipment: ShipmentFacts) -> None:
    r = build_report(shipment, [])
    assert isinstance(r.cathode_material_origin, Missing) and "no material lot" in r.cathode_material_origin.why
    lfp = LotFacts(
        "LFP1",
        consumed_kg=5.0,
        product="LFP cathode",
        origin_country="CN",
        smelter_id="CID000001",
        mine_licences=("M1",),
        refining_kgco2e_per_kg=4.0,
        fractions={"Li": 0.044, "Fe": 0.35},
        lab_id="LAB-1",
        accreditation="CNAS L1234",
        certificate_ref="CERT-9",
        assayed_at_ms=T - DAY,
    )
    r = build_report(shipment, [lfp])
    assert r.missing_fields == ("recycled_cobalt", "recycled_nickel")
    assert r.recycled_cobalt == Missing("no cobalt in the assayed input lots")
    assert isinstance(r.recycled_lithium, RecycledShare) and r.recycled_lithium.percent == 0.0


def test_model_refuses_bad_smelter_ids_and_empty_values(shipment: ShipmentFacts) -> None:
    good = build_report(shipment, _lots())
    with pytest.raises(ValueError, match="CID"):
        replace(good, smelter_ids=("CID000468", "CID12345"))
    with pytest.raises(ValueError, match="smelter"):
        RefiningIntensity("L1", 1.0, "f", "supplier", smelter_id="RMI000468")
    with pytest.raises(ValueError, match="empty list"):
        replace(good, mine_licences=())
    with pytest.raises(ValueError, match="Missing"):
        replace(good, seal=None)


def test_timestamps_have_one_spelling() -> None:
    assert rfc3339_ms(T + 7) == "2026-01-01T00:00:00.007Z"
    assert parse_rfc3339_ms("2026-01-01T00:00:00.007Z") == T + 7
    assert rfc3339_ms(-1) == "1969-12-31T23:59:59.999Z" and parse_rfc3339_ms(rfc3339_ms(-1)) == -1
    for bad in ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000+00:00", "2026-01-01 00:00:00.000Z"):
        with pytest.raises(ValueError):
            parse_rfc3339_ms(bad)


# --------------------------------------------------------------------------- schema


def test_signed_report_validates_against_the_schema(shipment: ShipmentFacts, signers: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    doc = sign_report(build_report(shipment, _lots()), signers, T + DAY)
    jsonschema.validate(doc, SCHEMA)
    jsonschema.validate(json.loads(canonical_json(doc)), SCHEMA)
    bad = copy.deepcopy(doc)
    bad["report"]["fields"]["smelter_ids"] = ["CID12"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)
    bad = copy.deepcopy(doc)
    bad["report"]["fields"]["seal"] = {"missing": "x", "checkpoints": []}  # neither missing nor a value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)


# --------------------------------------------------------------------------- signatures


def test_two_roles_sign_and_verify(shipment: ShipmentFacts, signers: dict[str, Any], trusted: dict[str, str]) -> None:
    report = build_report(shipment, _lots())
    doc = unsigned(report)
    doc = add_signature(doc, MANUFACTURER_QA, signers[MANUFACTURER_QA], T + DAY)
    partial = verify_report(doc, trusted)
    assert not partial.ok and partial.problems == ("no verified signature for role third_party_verifier",)
    doc = add_signature(doc, THIRD_PARTY_VERIFIER, signers[THIRD_PARTY_VERIFIER], T + 2 * DAY)
    result = verify_report(doc, trusted)
    assert result.ok and result.report_hash_ok, result.problems
    assert result.verified_roles == (MANUFACTURER_QA, THIRD_PARTY_VERIFIER)
    assert doc["report_hash"] == report_hash(report)
    qa = doc["signatures"][0]
    assert (
        qa["key"] == signers[MANUFACTURER_QA].verifier_key() and qa["key_id"] == signers[MANUFACTURER_QA].key_id.hex()
    )
    assert qa["signed_at"] == "2026-01-02T00:00:00.000Z"
    # the signature is over hash + role + timestamp, nothing else
    message = signature_message(doc["report_hash"], MANUFACTURER_QA, qa["signed_at"])
    assert signers[MANUFACTURER_QA].verifier().verify(message, base64.b64decode(qa["signature"]))
    assert verify_report(canonical_json(doc), trusted).ok  # the published bytes verify as well


def test_every_changed_byte_fails(shipment: ShipmentFacts, signers: dict[str, Any], trusted: dict[str, str]) -> None:
    """Flip one bit of every ASCII byte of the published document: body, hash, timestamps, keys, signatures."""
    text = canonical_json(sign_report(build_report(shipment, _lots()), signers, T + DAY))
    assert verify_report(text, trusted).ok
    for i in range(len(text)):
        if text[i] >= 0x80:
            continue  # inside a multi-byte character; the bytes around it are checked
        tampered = text[:i] + bytes([text[i] ^ 0x01]) + text[i + 1 :]
        assert not verify_report(tampered, trusted).ok, f"byte {i} ({chr(text[i])!r}) changed and still verified"


@pytest.mark.parametrize(
    ("where", "tamper"),
    [
        ("report body", lambda d: d["report"]["fields"]["recycled_cobalt"].update(percent=60.0)),
        ("battery list", lambda d: d["report"]["battery_ids"].append("B3")),
        (
            "body and hash",
            lambda d: (d["report"].update(shipment_id="C2"), d.update(report_hash=report_hash(d["report"]))),
        ),
        ("timestamp", lambda d: d["signatures"][1].update(signed_at="2026-01-03T00:00:00.000Z")),
        (
            "role swap",
            lambda d: [
                s.update(role=r) for s, r in zip(d["signatures"], [THIRD_PARTY_VERIFIER, MANUFACTURER_QA], strict=True)
            ],
        ),
        ("signature", lambda d: d["signatures"][0].update(signature=base64.b64encode(b"\0" * 64).decode())),
        ("dropped signature", lambda d: d["signatures"].pop()),
        ("role not a string", lambda d: d["signatures"][0].update(role=[MANUFACTURER_QA])),
        ("extra member", lambda d: d["signatures"][0].update(note="ok")),
    ],
)
def test_tampering_fails(
    shipment: ShipmentFacts, signers: dict[str, Any], trusted: dict[str, str], where: str, tamper: Any
) -> None:
    doc = sign_report(build_report(shipment, _lots()), signers, T + DAY)
    tamper(doc)
    assert not verify_report(doc, trusted).ok, where


def test_roles_need_distinct_keys(shipment: ShipmentFacts, signers: dict[str, Any]) -> None:
    qa = signers[MANUFACTURER_QA]
    with pytest.raises(SigningError, match="distinct"):
        sign_report(build_report(shipment, _lots()), {MANUFACTURER_QA: qa, THIRD_PARTY_VERIFIER: qa}, T + DAY)
    # forged by hand: one key signs both roles; trusting it for both roles still fails
    doc = add_signature(unsigned(build_report(shipment, _lots())), MANUFACTURER_QA, qa, T + DAY)
    second = dict(doc["signatures"][0], role=THIRD_PARTY_VERIFIER)
    second["signature"] = base64.b64encode(
        qa.sign(signature_message(doc["report_hash"], THIRD_PARTY_VERIFIER, second["signed_at"]))
    ).decode()
    doc["signatures"].append(second)
    both = {MANUFACTURER_QA: qa.verifier_key(), THIRD_PARTY_VERIFIER: qa.verifier_key()}
    result = verify_report(doc, both)
    assert result.verified_roles == (MANUFACTURER_QA, THIRD_PARTY_VERIFIER)
    assert not result.ok and "roles must be signed by distinct keys" in result.problems


def test_a_key_counts_only_for_its_role(
    shipment: ShipmentFacts, signers: dict[str, Any], trusted: dict[str, str]
) -> None:
    doc = sign_report(build_report(shipment, _lots()), signers, T + DAY)
    swapped = {MANUFACTURER_QA: trusted[THIRD_PARTY_VERIFIER], THIRD_PARTY_VERIFIER: trusted[MANUFACTURER_QA]}
    result = verify_report(doc, swapped)
    assert not result.ok and result.verified_roles == ()
    stranger = generate_signer("acme-qa")  # same name, other key
    assert not verify_report(doc, {**trusted, MANUFACTURER_QA: stranger.verifier_key()}).ok


def test_refuses_to_sign_a_stale_hash_or_twice(shipment: ShipmentFacts, signers: dict[str, Any]) -> None:
    doc = unsigned(build_report(shipment, _lots()))
    doc["report"]["shipment_id"] = "C2"
    with pytest.raises(SigningError, match="does not match"):
        add_signature(doc, MANUFACTURER_QA, signers[MANUFACTURER_QA])
    doc = add_signature(unsigned(build_report(shipment, _lots())), MANUFACTURER_QA, signers[MANUFACTURER_QA])
    with pytest.raises(SigningError, match="already signed"):
        add_signature(doc, MANUFACTURER_QA, generate_signer("other"))
    with pytest.raises(SigningError, match="role"):
        add_signature(doc, "ceo", generate_signer("other"))


def test_a_signature_before_delivery_fails(
    shipment: ShipmentFacts, signers: dict[str, Any], trusted: dict[str, str]
) -> None:
    doc = sign_report(build_report(shipment, _lots()), signers, T - 1)
    result = verify_report(doc, trusted)
    assert not result.ok and any("before the delivery" in p for p in result.problems)


def test_non_canonical_text_and_duplicate_members_fail(
    shipment: ShipmentFacts, signers: dict[str, Any], trusted: dict[str, str]
) -> None:
    doc = sign_report(build_report(shipment, _lots()), signers, T + DAY)
    assert verify_report(doc, trusted).ok
    assert not verify_report(json.dumps(doc, indent=2), trusted).ok
    text = canonical_json(doc).decode()
    assert not verify_report('{"report_hash":"00",' + text[1:], trusted).ok


# --------------------------------------------------------------------------- seal and QR


def test_seal_verifies_against_the_signed_checkpoint(shipment: ShipmentFacts, log_signer: Any) -> None:
    seal = shipment.seal
    assert seal is not None
    assert verify_seal(seal, log_signer.verifier_key()) == ()
    assert verify_seal(build_report(shipment, _lots()).to_json()["fields"]["seal"], log_signer.verifier_key()) == ()
    forged = replace(seal, inclusions=(replace(seal.inclusions[0], entry='{"entity":"battery:B1","seq":4}'),))
    assert "does not reach the checkpoint root" in verify_seal(forged, log_signer.verifier_key())[0]
    assert "checkpoint 0" in verify_seal(seal, generate_signer("battrace/log/0").verifier_key())[0]
    assert verify_seal({"missing": "not sealed"}, log_signer.verifier_key()) == ("no seal: not sealed",)


def test_qr_code_of_the_report_url(tmp_path: Path) -> None:
    assert report_url("https://trace.example.com/", "C1") == "https://trace.example.com/reports/C1"
    assert report_url("https://trace.example.com/api", "C 1/2") == "https://trace.example.com/api/reports/C%201%2F2"
    url = write_qr(tmp_path / "c1.png", "https://trace.example.com", "00012345600000000018")
    assert url == "https://trace.example.com/reports/00012345600000000018"
    assert (tmp_path / "c1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    write_qr(tmp_path / "c1.svg", "https://trace.example.com", "C1")
    assert "<svg" in (tmp_path / "c1.svg").read_text(encoding="utf-8")
    for base in ("ftp://x", "trace.example.com", "https://x?a=1"):
        with pytest.raises(ValueError):
            report_url(base, "C1")
    with pytest.raises(ValueError):
        write_qr(tmp_path / "c1.gif", "https://trace.example.com", "C1")


def test_a_multimodal_consignment_reports_each_leg_and_hub_and_their_sum() -> None:
    """2 t: road 600 km x 0.126 = 151.2, sea 19,000 km x 0.0154 = 585.2, rail 700 km x 0.0316 = 44.24 kg, and two
    maritime terminals 2 t x 2.0 = 4.0 kg each: 788.64 kg, split 600:400 by mass."""
    chain = transport_chain(
        2000.0, [["ROAD", "PORT-P", "GF-P"], ["SEA", "PORT-Q", "GF-Q"], ["RAIL", "VEH", None]], [600.0, 19_000.0, 700.0]
    )
    t = transport_emissions(chain, {"A": 600.0, "B": 400.0}, ["A", "B"])
    assert t.modes == ("ROAD", "SEA", "RAIL") and t.distance_km == pytest.approx(20_300.0)
    assert [(e.kind, e.index, e.what) for e in t.chain] == [
        ("leg", 1, "ROAD"),
        ("hub", 1, "maritime_container_terminal"),
        ("leg", 2, "SEA"),
        ("hub", 2, "maritime_container_terminal"),
        ("leg", 3, "RAIL"),
    ]
    assert [e.kg_co2e for e in t.chain] == pytest.approx([151.2, 4.0, 585.2, 4.0, 44.24])
    assert t.kg_co2e == pytest.approx(788.64) and t.t_km == pytest.approx(40_600.0)
    assert t.allocation_kg == pytest.approx({"A": 473.184, "B": 315.456})
    with pytest.raises(ValueError, match="sum of the chain"):
        replace(t, kg_co2e=t.kg_co2e - 4.0)  # a total that leaves out a hub is refused
