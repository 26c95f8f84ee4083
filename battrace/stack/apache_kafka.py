"""Apache Kafka itself, on demand: a single-node KRaft broker+controller on free loopback ports.

Customers run Apache Kafka, not Tansu, so the suites and the demo can run against the real thing. No Kafka
distribution is installed on the machines and none is vendored here: the broker's jars come from Maven Central
through Maven (``mvn dependency:copy-dependencies`` on a one-dependency POM, with ``--strict-checksums`` so a
corrupted download fails instead of running), once, into a cache directory shared by every home. The broker is
``java -cp <jars> kafka.Kafka server.properties``, the same main class the distribution's scripts start.

The storage directory lives under the broker's own directory and survives ``stop``/``start``: a restarted broker
keeps its topics and offsets, which is what tests of a broker restart rely on (Tansu keeps everything in memory).

With ``sasl_users`` the client listener is SASL_PLAINTEXT with the PLAIN mechanism and those users (Kafka's own
JAAS configuration in server.properties), so the clients' SASL settings meet a broker that checks them; without, it
is PLAINTEXT.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from confluent_kafka.admin import AdminClient

from battrace.settings import Settings, get_settings
from battrace.stack.broker import BrokerError, free_port, wait_listening
from battrace.stack.process import kill_group, spawn, stop_group
from streams.kafka import client_config

KAFKA_VERSION = "4.1.1"  # Scala 2.13 build; runs on Java 17
MIN_JAVA = 17
# The broker logs through SLF4J 1.7 (Kafka's Scala code) and Log4j 2: this binding sends both to one log file.
LOG4J_SLF4J = ("org.apache.logging.log4j", "log4j-slf4j-impl", "2.24.3")
_COMPLETE = ".complete"

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>battrace.local</groupId><artifactId>apache-kafka-broker</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>{kafka}</version>
    </dependency>
    <dependency><groupId>{log_group}</groupId><artifactId>{log_artifact}</artifactId><version>{log_version}</version>
    </dependency>
  </dependencies>
</project>
"""

_LOG4J2 = """Configuration:
  status: warn
  Appenders:
    File:
      name: file
      fileName: "{log}"
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: info
      AppenderRef:
        - ref: file
    Logger:
      - name: kafka.request.logger
        level: warn
      - name: org.apache.kafka.controller
        level: warn
"""


class KafkaUnavailable(BrokerError):
    """Java or Maven is missing or too old, or the jars could not be fetched: a one-line reason with the fix."""


def default_cache_dir() -> Path:
    """Where the jars are kept: ``$XDG_CACHE_HOME/battrace`` (``~/.cache/battrace``), shared by every home."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "battrace"


def java_major(java: str) -> int | None:
    """The major version ``java -version`` reports (``17`` for "17.0.15", ``8`` for "1.8.0"), None if unreadable."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_java_major(out.stderr + out.stdout)


def parse_java_major(version_text: str) -> int | None:
    found = re.search(r'version "(\d+)(?:\.(\d+))?', version_text)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def jars_dir(cache_dir: Path, version: str = KAFKA_VERSION) -> Path:
    return cache_dir / f"apache-kafka-{version}" / "lib"


def unavailable_reason(cache_dir: Path, version: str = KAFKA_VERSION) -> str | None:
    """Why Apache Kafka cannot run here (one line naming the fix), or None when it can."""
    java = shutil.which("java")
    if java is None:
        return f"Apache Kafka needs Java {MIN_JAVA}+ and no `java` is on PATH: install a JDK {MIN_JAVA}+"
    major = java_major(java)
    if major is None or major < MIN_JAVA:
        found = major or "of unknown version"
        return f"Apache Kafka needs Java {MIN_JAVA}+ and `java` is {found}: put a JDK {MIN_JAVA}+ first on PATH"
    if not (jars_dir(cache_dir, version) / _COMPLETE).exists() and shutil.which("mvn") is None:
        return "Apache Kafka's jars are fetched with Maven and no `mvn` is on PATH: install Maven"
    return None


def fetch_jars(cache_dir: Path, version: str = KAFKA_VERSION, timeout_s: float = 900) -> Path:
    """The directory holding the broker's jars, fetched from Maven Central on first use.

    Fetched into a temporary directory and renamed into place, so a concurrent or interrupted fetch never leaves
    a half-filled directory that looks complete."""
    target = jars_dir(cache_dir, version)
    if (target / _COMPLETE).exists():
        return target
    reason = unavailable_reason(cache_dir, version)
    if reason:
        raise KafkaUnavailable(reason)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
        work = Path(tmp)
        group, artifact, log_version = LOG4J_SLF4J
        (work / "pom.xml").write_text(
            _POM.format(kafka=version, log_group=group, log_artifact=artifact, log_version=log_version)
        )
        cmd = [
            "mvn",
            "--batch-mode",
            "--quiet",
            "--strict-checksums",
            "-f",
            str(work / "pom.xml"),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={work / 'lib'}",
            "-DincludeScope=runtime",
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise KafkaUnavailable(
                f"fetching Apache Kafka {version} from Maven Central took over {timeout_s:.0f} s: check the network"
            ) from None
        if done.returncode != 0:
            last = next((ln for ln in reversed((done.stdout + done.stderr).splitlines()) if ln.strip()), "")
            raise KafkaUnavailable(
                f"Maven could not fetch Apache Kafka {version} ({last.strip()[:200]}): check that Maven Central "
                "is reachable (or a mirror in ~/.m2/settings.xml)"
            )
        (work / "lib" / _COMPLETE).write_text(version + "\n")
        try:
            (work / "lib").rename(target)
        except OSError:  # another process finished first
            if not (target / _COMPLETE).exists():
                raise
    return target


def cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes in URL-safe base64 without padding (what ``kafka-storage random-uuid``
    prints), never starting with "-", which the storage tool would read as an option (Kafka's own Uuid avoids it
    the same way: it draws again)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


_JAAS_UNSAFE = frozenset('"\\\n\r')  # would need escaping twice: in the JAAS value and in the .properties file


def _jaas_quoted(value: str) -> str:
    """A JAAS option value in double quotes; characters that would need escaping are refused, not escaped."""
    if _JAAS_UNSAFE & set(value):
        raise ValueError("a SASL user or password of the test broker may not contain quotes, backslashes or newlines")
    return f'"{value}"'


def plain_jaas_config(users: Mapping[str, str]) -> str:
    """Kafka's PlainLoginModule line: the broker's own login (the first user, for its inter-broker connections) and
    one ``user_NAME="PASSWORD"`` per user it accepts."""
    if not users:
        raise ValueError("a SASL listener needs at least one user")
    login, password = next(iter(users.items()))
    accepted = " ".join(f"user_{name}={_jaas_quoted(secret)}" for name, secret in users.items())
    return (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f"username={_jaas_quoted(login)} password={_jaas_quoted(password)} {accepted};"
    )


def server_properties(
    port: int, controller_port: int, data_dir: Path, sasl_users: Mapping[str, str] | None = None
) -> str:
    """A single node that is both broker and controller; replication factors of 1 (one node); the group join
    delay off, as for any single-node development broker. Everything else is Kafka's default. With ``sasl_users``
    the client (and inter-broker) listener is SASL_PLAINTEXT/PLAIN accepting those users; the controller's stays
    PLAINTEXT on loopback."""
    listener = "SASL_PLAINTEXT" if sasl_users else "PLAINTEXT"
    lines = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{controller_port}",
        "listeners": f"{listener}://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"{listener}://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": listener,
        "listener.security.protocol.map": f"{listener}:{listener},CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir),
        "offsets.topic.replication.factor": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
    }
    if sasl_users:
        lines["sasl.enabled.mechanisms"] = "PLAIN"
        lines["sasl.mechanism.inter.broker.protocol"] = "PLAIN"
        lines["listener.name.sasl_plaintext.plain.sasl.jaas.config"] = plain_jaas_config(sasl_users)
    return "".join(f"{k}={v}\n" for k, v in lines.items())


class ApacheKafkaBroker:
    """A KRaft Apache Kafka owned by this process; a context manager that always stops it.

    ``stop`` then ``start`` restarts it on the same ports with the same data; ``kill`` is a SIGKILL, as a crash
    of the broker's machine would be. ``fresh``: the first start drops what an earlier broker left in the
    directory (a demo or bench starts from empty topics, as on Tansu). ``sasl_users``: user -> password accepted on a
    SASL_PLAINTEXT/PLAIN listener; none: a PLAINTEXT listener."""

    tansu = False

    def __init__(
        self,
        directory: Path,
        port: int | None = None,
        cache_dir: Path | None = None,
        fresh: bool = False,
        sasl_users: Mapping[str, str] | None = None,
    ) -> None:
        self.directory = directory
        self.fresh = fresh
        self.sasl_users = dict(sasl_users or {})
        self.port = port or free_port()
        self.controller_port = free_port()
        self.cache_dir = cache_dir or default_cache_dir()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client_settings(self, settings: Settings) -> Settings:
        """``settings`` with the Kafka security this broker's listener speaks: SASL_PLAINTEXT/PLAIN as its first user,
        or PLAINTEXT without credentials."""
        if not self.sasl_users:
            update = {"kafka_security_protocol": "PLAINTEXT", "kafka_sasl_username": "", "kafka_sasl_password": ""}
        else:
            user, password = next(iter(self.sasl_users.items()))
            update = {
                "kafka_security_protocol": "SASL_PLAINTEXT",
                "kafka_sasl_mechanism": "PLAIN",
                "kafka_sasl_username": user,
                "kafka_sasl_password": password,
            }
        return Settings.model_validate({**settings.model_dump(), **update})

    @property
    def data_dir(self) -> Path:
        return self.directory / "kafka-data"

    def _java(self, jars: Path, main: str, *args: str, heap: str = "-Xmx128m") -> list[str]:
        log4j = self.directory / "log4j2.yaml"
        return ["java", heap, f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{jars}/*", main, *args]

    def _configure(self, jars: Path) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "log4j2.yaml").write_text(_LOG4J2.format(log=self.directory / "kafka.log"))
        props = self.directory / "server.properties"
        props.write_text(server_properties(self.port, self.controller_port, self.data_dir, self.sasl_users))
        props.chmod(0o600)  # it holds the SASL users' passwords
        if not (self.data_dir / "meta.properties").exists():
            fmt = self._java(
                jars, "kafka.tools.StorageTool", "format", "--standalone", "-t", cluster_id(), "-c", str(props)
            )
            done = subprocess.run(fmt, capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                raise BrokerError(f"formatting Kafka storage in {self.data_dir} failed: {done.stdout}{done.stderr}")
        return props

    def start(self, timeout_s: float = 60.0) -> ApacheKafkaBroker:
        jars = fetch_jars(self.cache_dir)
        if self.fresh:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.fresh = False
        props = self._configure(jars)
        with open(self.directory / "kafka.out", "ab") as out:
            self.proc = spawn(
                self._java(jars, "kafka.Kafka", str(props), heap="-Xmx768m"),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            deadline = time.monotonic() + timeout_s
            wait_listening(self.port, self.proc, timeout_s, "Apache Kafka")
            self._wait_ready(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, deadline: float) -> None:
        """Listening is not ready: the broker answers metadata with itself registered once the controller knows it."""
        admin = AdminClient(client_config(self.bootstrap, self.client_settings(get_settings())))
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise BrokerError(f"Apache Kafka exited with code {self.proc.returncode}; see {self.directory}")
            try:
                if admin.list_topics(timeout=2).brokers:
                    return
            except Exception:
                pass
            time.sleep(0.2)
        raise BrokerError(f"Apache Kafka on {self.bootstrap} was not ready in time; see {self.directory / 'kafka.log'}")

    def stop(self, timeout_s: float = 30) -> None:
        """A clean shutdown (SIGTERM: the broker flushes and closes its logs), SIGKILL after ``timeout_s``."""
        proc, self.proc = self.proc, None
        stop_group(proc, timeout_s)

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        kill_group(proc)

    def __enter__(self) -> ApacheKafkaBroker:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
