"""What a clone must not pick up from running the Quick start in it."""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "name",
    [
        "fenxiao.sqlite3",
        "fenxiao.sqlite3-wal",
        "fenxiao.sqlite3-shm",
        "fenxiao.sqlite3-journal",
        "fenxiao-demo.json",
    ],
)
def test_what_fenxiao_up_writes_is_ignored_by_git(name):
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT, check=False)
    assert result.returncode == 0, f"{name} would be committed"
