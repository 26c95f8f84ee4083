"""`battrace serve`: the read-only API and verification page over the configured ClickHouse store."""

from __future__ import annotations

import errno
import socket

import click


def check_port(host: str, port: int) -> None:
    """Fail early with a clear message (uvicorn would only log the bind error once the app is built)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise click.UsageError(
            f"--host {host}: cannot resolve it ({exc.strerror}); use an address such as 127.0.0.1"
        ) from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise click.ClickException(
                    f"port {port} on {host} is already in use: stop the other server or pass --port with a free port"
                ) from None
            if exc.errno == errno.EACCES:
                raise click.ClickException(f"no permission to listen on port {port}: use a port above 1023") from None
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on (0.0.0.0: every interface)")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port")
def serve(host: str, port: int) -> None:
    """Serve the read-only API (OpenAPI at /docs) and the verification page (/) until Ctrl-C.

    Reads the ClickHouse store of BATTRACE_HOME (or BATTRACE_CLICKHOUSE) with readonly=1; the embedded
    chDB store can be open in one process only, so stop `battrace demo` or workers on it first.
    """
    from battrace.cli.common import settings_or_exit

    settings = settings_or_exit()
    check_port(host, port)
    import uvicorn

    from battrace.api import create_app
    from battrace.api.store import StoreError
    from battrace.keys import KeyConfigError
    from battrace.log_format import logging_config

    json_logs = logging_config(settings.log_format)
    if json_logs is not None:  # before the app is built: its start-up warnings are JSON too
        import logging.config

        logging.config.dictConfig(json_logs)

    try:
        app = create_app(settings)
    except (StoreError, KeyConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    store = settings.clickhouse or settings.clickhouse_path
    click.echo(f"serving {store} read-only on http://{host}:{port}/ (API docs: /docs); Ctrl-C stops", err=True)
    # uvicorn configures logging again: with JSON logs, a fresh copy of the same (dictConfig consumes the factories),
    # under which its loggers reach the root's JSON handler.
    log_config = logging_config(settings.log_format) or uvicorn.config.LOGGING_CONFIG
    uvicorn.run(app, host=host, port=port, log_level="info", log_config=log_config)


if __name__ == "__main__":
    serve()
