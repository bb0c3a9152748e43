"""The schema as SDL, committed as `graph/schema.graphql` so clients and reviewers see the API.

    python -m graph.sdl            # (re)write graph/schema.graphql from the code
    python -m graph.sdl --check    # exit 1 when the file and the code disagree

`tests/test_schema_sdl.py` runs the check, so a schema change without the regenerated file
fails the suite.
"""

import argparse
import difflib
import sys
from pathlib import Path

from strawberry.printer import print_schema

from gateway.settings import Settings
from graph.schema import build_schema

SDL_PATH = Path(__file__).with_name("schema.graphql")
REGENERATE = "python -m graph.sdl"


def render() -> str:
    """The SDL of the schema the server builds (settings do not change its shape)."""
    return print_schema(build_schema(Settings())) + "\n"


def drift(path: Path = SDL_PATH) -> str | None:
    """None when `path` holds the current SDL; otherwise a message with a short diff."""
    current = render()
    try:
        committed = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return f"{path} is missing: run `{REGENERATE}` and commit the file"
    if committed == current:
        return None
    diff = difflib.unified_diff(
        committed.splitlines(keepends=True),
        current.splitlines(keepends=True),
        fromfile=f"{path.name} (committed)",
        tofile=f"{path.name} (from the code)",
        n=1,
    )
    excerpt = "".join(list(diff)[:60])
    return f"{path} is out of date with the code: run `{REGENERATE}` and commit it\n{excerpt}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=REGENERATE, description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on drift")
    parser.add_argument("--output", type=Path, default=SDL_PATH, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        problem = drift(args.output)
        if problem:
            print(problem, file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(render(), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
