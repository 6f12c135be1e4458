"""Stops the install when a lock file no longer matches the pins it was made from.

requirements.txt and requirements-dev.txt are edited by hand; requirements.lock and
requirements-dev.lock are written from them by `make lock`. A pin added or changed without
`make lock` would otherwise install the old lock silently, and the tests would fail far from the
cause. Standard library only: it runs before anything is installed.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {"requirements.txt": "requirements.lock", "requirements-dev.txt": "requirements-dev.lock"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def canonical(name: str) -> str:
    """Return the package name as PEP 503 compares it (case, `-`, `_` and `.` alike)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """Return {name: version} for the `name==version` lines of a requirements file."""
    found = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            found[canonical(match[1])] = match[2]
    return found


def stale_pins(source: str, lock: str) -> list[str]:
    """Return a line for each pin of `source` that `lock` lacks or holds at another version."""
    wanted, locked = pins(ROOT / source), pins(ROOT / lock)
    return [
        f"{source} pins {name}=={version}, {lock} has "
        + (f"{name}=={locked[name]}" if name in locked else "no such package")
        for name, version in wanted.items()
        if locked.get(name) != version
    ]


def main() -> int:
    """Print every stale pin and return 1 if there is one."""
    problems = [line for source, lock in LOCKS.items() for line in stale_pins(source, lock)]
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print("The lock files are out of date: run `make lock` and commit them.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
