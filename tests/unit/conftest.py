"""Unit tests start nothing: no process, no network connection, no ClickHouse engine.

Each phase of a unit test (fixtures included) runs with those doors shut, so a test that needs a real
component fails here with one line naming what it started, and belongs in tests/integration/.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import clickhouse_connect
import pytest


class StartedSomething(RuntimeError):
    """A unit test tried to start a process, open a connection or open ClickHouse."""


def _refuse(what: str) -> Callable[..., Any]:
    def refused(*_args: Any, **_kwargs: Any) -> Any:
        raise StartedSomething(f"a unit test started {what}: move it to tests/integration/")

    return refused


@contextmanager
def _starts_nothing() -> Iterator[None]:
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family == socket.AF_UNIX:
            return real_connect(sock, address)
        raise StartedSomething(f"a unit test connected to {address}: move it to tests/integration/")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(subprocess.Popen, "__init__", _refuse("a subprocess"))
        patch.setattr(asyncio, "create_subprocess_exec", _refuse("a subprocess"))
        patch.setattr(socket.socket, "connect", connect)
        patch.setattr(socket.socket, "connect_ex", connect)
        patch.setattr(clickhouse_connect, "get_client", _refuse("ClickHouse"))
        yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with _starts_nothing():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with _starts_nothing():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    with _starts_nothing():
        return (yield)
