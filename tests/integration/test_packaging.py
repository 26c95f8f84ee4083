"""A built wheel carries everything the code reads at run time: the DDL, the factor and date tables, the Avro
contracts and the page's static files. A checkout finds them beside the source; only a wheel shows they ship.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA_SUFFIXES = (".sql", ".csv", ".json", ".avsc", ".js", ".html", ".css")
PACKAGES = ("battrace", "schemas", "streams", "processors")

_PROBE = """
import sys
from pathlib import Path
import battrace.store.client as client
from battrace.domain.battery_code import default_dates
from battrace.domain.factors import FactorTable
from schemas.catalog import contracts
assert Path(client.__file__).is_relative_to(sys.argv[1]), client.__file__
print(len(client.ddl_statements()), len(FactorTable.load()), len(contracts()), bool(default_dates()))
"""


def test_the_wheel_ships_every_data_file_and_the_code_finds_them(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(tmp_path.glob("battrace-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    in_tree = {
        str(p.relative_to(ROOT))
        for package in PACKAGES
        for p in (ROOT / package).rglob("*")
        if p.suffix in DATA_SUFFIXES and "__pycache__" not in p.parts
    }
    assert in_tree, "the source tree has data files"
    assert in_tree <= shipped, sorted(in_tree - shipped)
    assert not any(name.startswith("tests/") for name in shipped)

    probe = subprocess.run(
        [sys.executable, "-c", _PROBE, str(tmp_path / "site")],
        env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr[-2000:]
    ddl, factors, contracts, dates = probe.stdout.split()
    assert int(ddl) > 20 and int(factors) > 10 and int(contracts) == 5 and dates == "True"
