"""`battrace cosign`: the third-party verifier, run by another party from a home of its own.

It reads the drafts awaiting review from the operator's read-only API, checks each against keys it pinned itself
(the operator's log key in BATTRACE_VERIFIER_KEYS or --log-key, the manufacturer's QA key in
keys/report/manufacturer_qa.vkey or --qa-key), and publishes a co-signature or a signed refusal to the operator's
broker (BATTRACE_KAFKA). Its own key is keys/report/third_party_verifier.skey in its home, created on first use;
`battrace cosign key` prints the public half for the operator to pin (`battrace keys trust-report`).
"""

from __future__ import annotations

import json
import time
from typing import Any

import click

from battrace.cli.common import call, keyring, settings_or_exit
from battrace.settings import Settings

PUBLISH_TIMEOUT_S = 15.0


@click.group(name="cosign", invoke_without_command=True)
@click.option(
    "--api",
    default="http://127.0.0.1:8000",
    show_default=True,
    envvar="BATTRACE_COSIGN_API",
    help="the operator's battrace API (env BATTRACE_COSIGN_API)",
)
@click.option("--once", is_flag=True, help="review what awaits review now, then exit (default: keep watching)")
@click.option(
    "--interval", default=5.0, show_default=True, type=click.FloatRange(min=0.1), help="seconds between polls"
)
@click.option(
    "--log-key", "log_keys", multiple=True, help="the operator's log verifier key (default: BATTRACE_VERIFIER_KEYS)"
)
@click.option("--qa-key", help="the manufacturer's QA verifier key (default: keys/report/manufacturer_qa.vkey)")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per report (and, with --once, a summary)")
@click.pass_context
def cosign(
    ctx: click.Context,
    api: str,
    once: bool,
    interval: float,
    log_keys: tuple[str, ...],
    qa_key: str | None,
    as_json: bool,
) -> None:
    """Review drafted reports as the third-party verifier: co-sign or refuse each, with reasons."""
    if ctx.invoked_subcommand is not None:
        return
    from battrace.stack.cosigner import ApiUnreachable, Cosigner, OperatorApi

    settings = settings_or_exit()
    keys = pinned_keys(settings, log_keys, qa_key)
    signer = own_signer(settings)
    if not settings.kafka:
        raise click.UsageError("BATTRACE_KAFKA is empty: set it to the operator's Kafka bootstrap servers")
    operator = OperatorApi(api)
    totals = {"cosigned": 0, "refused": 0, "waiting": 0}
    try:
        with Publisher(settings.kafka) as publisher:
            cosigner = Cosigner(operator, keys, signer, publisher.send)
            while True:
                for outcome in cosigner.review_awaiting():
                    publisher.flush()  # each verdict is on the broker before it is printed
                    totals[outcome.verdict] += 1
                    click.echo(json.dumps(outcome.to_json(), separators=(",", ":")) if as_json else outcome.line())
                if once:
                    break
                time.sleep(interval)
    except ApiUnreachable as exc:
        raise click.ClickException(f"{exc}; start `battrace serve` there or pass --api URL") from None
    finally:
        operator.close()
    if as_json:
        click.echo(json.dumps(totals, separators=(",", ":")))
    elif not any(totals.values()):
        click.echo("no report awaits review")


@cosign.command(name="key")
def key() -> None:
    """Print this co-signer's verifier key: the operator pins it with `battrace keys trust-report`."""
    click.echo(own_signer(settings_or_exit()).verifier_key())


def own_signer(settings: Settings) -> Any:
    """The co-signer's own key, created in its home on first use; refused in a home holding the manufacturer's."""
    from battrace.report.signing import MANUFACTURER_QA, THIRD_PARTY_VERIFIER

    if (settings.keys_dir / "report" / f"{MANUFACTURER_QA}.skey").exists():
        raise click.ClickException(
            f"{settings.home} holds the manufacturer's QA signing key: run the co-signer from a home of its own "
            "(BATTRACE_HOME=DIR)"
        )
    return call(lambda: keyring(settings).report_signer(THIRD_PARTY_VERIFIER))


def pinned_keys(settings: Settings, log_keys: tuple[str, ...], qa_key: str | None) -> Any:
    """The operator's keys this co-signer trusts, from options or its own home; one-line errors when missing."""
    from battrace.report.signing import MANUFACTURER_QA
    from battrace.tlog import InvalidKeyError, Verifier
    from battrace.verify.cosign_check import PinnedKeys

    ring = keyring(settings)
    try:
        log = [Verifier.from_key(k) for k in log_keys] or call(ring.configured_verifiers)
        qa = [Verifier.from_key(qa_key)] if qa_key else call(ring.report_verifiers).get(MANUFACTURER_QA, [])
    except InvalidKeyError as exc:
        raise click.UsageError(f"{exc}; give name+keyid+key strings") from None
    if not log:
        raise click.UsageError(
            "no operator log key pinned: set BATTRACE_VERIFIER_KEYS to the operator's `battrace keys export` "
            "or pass --log-key"
        )
    if not qa:
        raise click.UsageError(
            f"no manufacturer QA key pinned: run `battrace keys trust-report {MANUFACTURER_QA} KEY` in this home "
            "or pass --qa-key"
        )
    return PinnedKeys(tuple(log), tuple(qa))


class Publisher:
    """Review steps to reports.events on the operator's broker, with a one-line error when it is unreachable."""

    def __init__(self, bootstrap: str) -> None:
        from streams.producer import EventProducer

        self.bootstrap = bootstrap
        quiet = {"message.timeout.ms": int(PUBLISH_TIMEOUT_S * 1000), "log_level": 0}  # errors come as one line
        self._producer = EventProducer(bootstrap, **quiet)

    def send(self, record: dict[str, Any]) -> None:
        from schemas.catalog import REPORT_EVENT
        from streams.topics import REPORTS

        self._producer.send(REPORTS.name, REPORT_EVENT, record, key=record["shipment_id"])

    def flush(self) -> None:
        from streams.producer import ProduceError

        try:
            self._producer.flush(PUBLISH_TIMEOUT_S + 5)
        except ProduceError as exc:
            raise click.ClickException(
                f"could not publish to the broker at {self.bootstrap} ({exc}): check BATTRACE_KAFKA"
            ) from None

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()
