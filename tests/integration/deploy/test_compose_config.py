"""`docker compose config` accepts docker-compose.yml, where a Docker client with the compose plugin exists."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

COMPOSE = Path(__file__).resolve().parents[3] / "docker-compose.yml"


def test_docker_compose_accepts_the_file_where_a_docker_client_exists() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client here: the schema validation above stands in for `docker compose config`")
    plugin = subprocess.run([docker, "compose", "version"], capture_output=True)
    if plugin.returncode != 0:
        pytest.skip("the docker client here has no compose plugin")
    result = subprocess.run([docker, "compose", "-f", str(COMPOSE), "config", "--quiet"], capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
