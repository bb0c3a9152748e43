"""The committed SDL (`graph/schema.graphql`) is the schema the code builds."""

import subprocess
import sys
from pathlib import Path

from graph import sdl

ROOT = Path(__file__).resolve().parent.parent


def test_committed_sdl_matches_the_code():
    problem = sdl.drift()
    assert problem is None, problem  # the message says: run `python -m graph.sdl`


def test_drift_is_detected_with_the_fix_named(tmp_path, capsys):
    target = tmp_path / "schema.graphql"
    assert sdl.main(["--output", str(target)]) == 0
    assert target.read_text() == sdl.render()
    assert "type Query" in target.read_text()
    assert sdl.main(["--check", "--output", str(target)]) == 0

    target.write_text(target.read_text().replace("type Query {", "type Query {\n  gone: Int", 1))
    assert sdl.main(["--check", "--output", str(target)]) == 1
    err = capsys.readouterr().err
    assert "out of date" in err
    assert "python -m graph.sdl" in err
    assert "-  gone: Int" in err

    target.unlink()
    assert sdl.main(["--check", "--output", str(target)]) == 1
    assert "python -m graph.sdl" in capsys.readouterr().err


def test_module_entry_point_checks_the_committed_file():
    result = subprocess.run(
        [sys.executable, "-m", "graph.sdl", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
