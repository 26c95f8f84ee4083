"""The worker asks a real witness process to cosign its checkpoints and stores the cosigned notes; `verify --all`
can require the witness, and fails naming it when its cosignature is not there. A witness that never answers does
not stop sealing: the checkpoints are stored without its cosignature."""

from __future__ import annotations

import socket
from pathlib import Path

from embedded import Stack, run_sql, verify_all
from witness_process import init_witness, serving

from battrace.keys import KeyRing
from battrace.settings import Settings
from battrace.stack.broker import EmbeddedBroker
from battrace.tlog.cosignature import Cosigner, WitnessKey
from battrace.tlog.note import parse_note
from battrace.verify.witness_quorum import WitnessQuorum
from streams.kafka import ensure_topics
from streams.simulator import simulate

NAME = "witness.example/w1"


def newest_notes(home: Path) -> dict[str, str]:
    rows = run_sql(home, "SELECT log_id, note FROM battrace.checkpoints FINAL ORDER BY log_id, size")
    return {log_id: note for log_id, note in rows}


def run_pipeline(settings: Settings, events: int, witnesses: WitnessQuorum | None) -> None:
    with EmbeddedBroker(settings.home / "broker") as broker:
        ensure_topics(broker.bootstrap, settings.partitions)
        stack = Stack(settings, broker.bootstrap)
        stack.publish(list(simulate(events, seed=11, invalid_share=0.0)))
        with stack.worker() as worker:
            stack.settle(worker, witnesses=witnesses)


def test_checkpoints_carry_the_witness_cosignature_and_verify_can_require_it(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, partitions=2, batch_seconds=0.2, checkpoint_every=100)
    log_key = KeyRing(settings).signers()[0].verifier_key()
    key = WitnessKey.from_key(init_witness(tmp_path / "witness", NAME, f"{settings.log_origin}/={log_key}"))
    with serving(tmp_path / "witness") as url:
        asking = settings.model_copy(update={"witnesses": f"{key.to_key()} {url}"})
        run_pipeline(asking, 400, WitnessQuorum.of([key], 1))

    notes = newest_notes(tmp_path)
    assert set(notes) == {settings.log_id(0), settings.log_id(1)}
    for note in notes.values():  # the stored row is the cosigned note: the log's line and the witness's
        assert [s.name for s in parse_note(note)[1]] == [settings.log_origin, NAME]
        assert WitnessQuorum.of([key], 1).problem(note) is None

    code, report = verify_all(tmp_path, "--witness-key", key.to_key())
    assert code == 0 and report["ok"], report["failures"][:5]
    assert {log["cosigned_by"][0] for log in report["logs"].values()} == {NAME}
    code, report = verify_all(tmp_path, witnesses=key.to_key(), witness_quorum="1")  # the same from settings
    assert code == 0 and report["ok"], report["failures"][:5]

    other = Cosigner.generate("witness.example/w2").key()
    code, report = verify_all(tmp_path, "--witness-key", other.to_key())
    assert code == 1
    named = {f["entity"]: f["problem"] for f in report["failures"]}
    assert set(named) == set(notes) and all(f"missing: {other.name}" in p for p in named.values()), named

    code, report = verify_all(tmp_path, "--witness-key", key.to_key(), "--witness-key", other.to_key())  # k=2
    assert code == 1
    named = {f["entity"]: f["problem"] for f in report["failures"]}
    assert set(named) == set(notes), named
    assert all(p.endswith(f"1 of the 2 required witness cosignatures; missing: {other.name}") for p in named.values())


def test_a_witness_that_never_answers_does_not_stop_sealing(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, partitions=2, batch_seconds=0.2, checkpoint_every=100, witness_timeout_s=1)
    key = Cosigner.generate(NAME).key()
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        run_pipeline(settings.model_copy(update={"witnesses": f"{key.to_key()} {url}"}), 400, None)

    notes = newest_notes(tmp_path)
    assert set(notes) == {settings.log_id(0), settings.log_id(1)}
    assert all([s.name for s in parse_note(n)[1]] == [settings.log_origin] for n in notes.values())
    code, report = verify_all(tmp_path)
    assert code == 0 and report["ok"], report["failures"][:5]
    code, report = verify_all(tmp_path, "--witness-key", key.to_key())
    assert code == 1 and {f["entity"] for f in report["failures"]} == set(notes)
    assert all(f"missing: {NAME}" in f["problem"] for f in report["failures"])
