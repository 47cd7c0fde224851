"""Every file the package needs besides its modules is declared as package data.

The Docker image (and any `pip install .`) installs the package into site-packages; a file under
plugin/ that is not declared is silently left behind and only fails at run time.
"""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_non_python_file_under_plugin_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = config["tool"]["setuptools"].get("package-data", {})
    missing = []
    for file in sorted((ROOT / "plugin").rglob("*")):
        if not file.is_file() or file.suffix in (".py", ".pyc") or "__pycache__" in file.parts:
            continue
        relative = file.relative_to(ROOT)
        covered = False
        for package, patterns in declared.items():
            package_dir = Path(*package.split("."))
            if package_dir in relative.parents:
                inside = relative.relative_to(package_dir).as_posix()
                covered = covered or any(fnmatch(inside, pattern) for pattern in patterns)
        if not covered:
            missing.append(relative.as_posix())
    assert missing == [], f"not declared in [tool.setuptools.package-data]: {missing}"
