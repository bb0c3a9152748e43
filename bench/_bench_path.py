"""Imported first by the bench scripts that load the gateway.

`bench/graphql.py` shares its name with the GraphQL library, and Python puts a script's own
folder first on the import path: `import graphql` (inside strawberry) would find the script.
Moving bench/ to the end keeps our helpers (`ingest`, `context`) importable and lets the library
win.
"""

import sys
from pathlib import Path

_BENCH = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _BENCH:
    sys.path.append(sys.path.pop(0))
