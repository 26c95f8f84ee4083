"""A test double of the Confluent Schema Registry's HTTP API: the few endpoints confluent-kafka's
``SchemaRegistryClient`` and ``AvroSerializer`` call, served from memory on a loopback port.

A double, not a registry: no compatibility checks, no persistence, no modes or contexts. No Schema Registry server
runs on the development machines (it is a Java service) and none installable from PyPI serves this API on its own,
so tests of the registry framing run the real client and serializer against this. It is not a mock of Kafka or
ClickHouse: those stay real in every integration test.

Endpoints: ``POST /subjects/{s}/versions``, ``GET /schemas/ids/{id}``, ``GET /subjects``,
``GET /subjects/{s}/versions``, ``GET /subjects/{s}/versions/{v|latest}``; errors as the registry sends them
(``{"error_code": 40401, "message": ...}`` with HTTP 404). Anything else is answered 404, which the client reads as
"none" (the serializer's look-up of topic associations, for one).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
SUBJECT_NOT_FOUND = 40401
VERSION_NOT_FOUND = 40402
SCHEMA_NOT_FOUND = 40403


class RegistryState:
    """Schemas by global id and subjects' version lists; the same schema text keeps its id across subjects."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: dict[str, int] = {}  # schema text -> id
        self.texts: dict[int, str] = {}
        self.subjects: dict[str, list[int]] = {}  # subject -> ids, version n at index n - 1
        self.requests: list[str] = []  # "METHOD path", for tests that check what the client asked

    def register(self, subject: str, text: str) -> int:
        with self.lock:
            schema_id = self.ids.setdefault(text, len(self.ids) + 1)
            self.texts[schema_id] = text
            versions = self.subjects.setdefault(subject, [])
            if schema_id not in versions:
                versions.append(schema_id)
            return schema_id


class _Handler(BaseHTTPRequestHandler):
    state: RegistryState

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _missing(self, code: int, message: str) -> None:
        self._send(404, {"error_code": code, "message": message})

    def _parts(self) -> list[str]:
        self.state.requests.append(f"{self.command} {self.path}")
        return [unquote(p) for p in urlsplit(self.path).path.strip("/").split("/")]

    def do_POST(self) -> None:
        parts = self._parts()
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        if len(parts) == 3 and parts[0] == "subjects" and parts[2] == "versions":
            schema_id = self.state.register(parts[1], body["schema"])
            self._send(200, {"id": schema_id})
        else:
            self._missing(SUBJECT_NOT_FOUND, f"no endpoint POST {self.path}")

    def do_GET(self) -> None:
        parts = self._parts()
        state = self.state
        if len(parts) == 3 and parts[:2] == ["schemas", "ids"]:
            text = state.texts.get(int(parts[2]))
            if text is None:
                self._missing(SCHEMA_NOT_FOUND, "Schema not found")
            else:
                self._send(200, {"schema": text})
        elif parts == ["subjects"]:
            self._send(200, sorted(state.subjects))
        elif len(parts) >= 3 and parts[0] == "subjects" and parts[2] == "versions":
            versions = state.subjects.get(parts[1])
            if versions is None:
                self._missing(SUBJECT_NOT_FOUND, f"Subject '{parts[1]}' not found.")
            elif len(parts) == 3:
                self._send(200, list(range(1, len(versions) + 1)))
            else:
                n = len(versions) if parts[3] == "latest" else int(parts[3])
                if not 1 <= n <= len(versions):
                    self._missing(VERSION_NOT_FOUND, f"Version {parts[3]} not found.")
                else:
                    schema_id = versions[n - 1]
                    record = {"subject": parts[1], "version": n, "id": schema_id, "schema": state.texts[schema_id]}
                    self._send(200, record)
        else:
            self._missing(SUBJECT_NOT_FOUND, f"no endpoint GET {self.path}")


@contextmanager
def schema_registry_double() -> Iterator[tuple[str, RegistryState]]:
    """(URL, state) of a registry double serving on a free loopback port for the block's duration."""
    state = RegistryState()
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="schema-registry-double", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
