"""Make the project root importable when pytest runs without an installed package.

CI installs the project (``pip install -e .``), so this only matters for a bare ``pytest``
run from a checkout; it puts the repository root (which holds ``adapters/``) on ``sys.path``.
"""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
