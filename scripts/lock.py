"""The lock file's two checks and its one post-step (``make lock``, ``make venv``, ``make test-latest``).

``pip-compile`` (pip-tools) writes ``requirements.lock`` for this machine: x86_64 Linux, where pip takes
the CPU build of PyTorch that lies on disk (``torch==X+cpu``). That build does not exist for aarch64
(Jetson), where PyPI's plain ``torch==X`` is already the CPU build, so ``mark`` splits the pin by
``platform_machine``; it is the only line pip-compile cannot write for another platform.

    python scripts/lock.py mark                        # after pip-compile
    python scripts/lock.py check [--also NAME==VER]    # this venv holds exactly the locked versions
    python scripts/lock.py diff                        # newest installed vs lock (make test-latest)
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib import metadata
from pathlib import Path

LOCK = Path(__file__).resolve().parent.parent / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;]+)")
# Installed but never locked: the project itself (editable) and the venv's own bootstrap.
NOT_LOCKED = {"edgecolor"}


def canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, str]:
    """``name -> version`` of the lock lines that apply to this machine (markers honoured)."""
    try:
        from packaging.markers import Marker
    except ImportError:  # the core venv has no packaging; pip vendors it
        from pip._vendor.packaging.markers import Marker

    found = {}
    for line in text.splitlines():
        m = PIN.match(line.strip())
        if not m:
            continue
        marker = line.split(";", 1)[1].split("#", 1)[0].strip() if ";" in line else ""
        if marker and not Marker(marker).evaluate():
            continue
        found[canon(m.group(1))] = m.group(2)
    return found


def installed() -> dict[str, str]:
    return {canon(d.metadata["Name"]): d.version for d in metadata.distributions() if d.metadata["Name"]}


def mark() -> None:
    lines = LOCK.read_text().splitlines()
    out = []
    for line in lines:
        m = re.match(r"^torch==([0-9.]+)\+cpu\s*$", line)
        if m:
            out.append(f'torch=={m.group(1)}+cpu ; platform_machine == "x86_64"')
            out.append(f'torch=={m.group(1)} ; platform_machine != "x86_64"  # aarch64 (Jetson): PyPI\'s CPU build')
        else:
            out.append(line)
    LOCK.write_text("\n".join(out) + "\n")


def check(also: list[str]) -> int:
    want = pins(LOCK.read_text())
    want.update({canon(a.split("==")[0]): a.split("==")[1] for a in also})
    have = installed()
    bad = [f"{n} {v} (lock: {want.get(n, 'not in the lock')})" for n, v in sorted(have.items())
           if n not in NOT_LOCKED and want.get(n) != v]
    if bad:
        print(f"venv differs from {LOCK.name}: " + ", ".join(bad), file=sys.stderr)
        print("remedy: rm -rf .venv && make venv-full (or make lock after changing pyproject.toml)", file=sys.stderr)
        return 1
    print(f"venv matches {LOCK.name}: {len(have) - len(NOT_LOCKED & have.keys())} packages pinned")
    return 0


def diff() -> int:
    want, have = pins(LOCK.read_text()), installed()
    newer = [f"{n} {want[n]} -> {v}" for n, v in sorted(have.items()) if n in want and want[n] != v]
    print("newer than the lock: " + (", ".join(newer) if newer else "nothing"))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["mark", "check", "diff"])
    ap.add_argument("--also", action="append", default=[], help="NAME==VERSION installed outside the lock")
    args = ap.parse_args()
    if args.what == "mark":
        mark()
        return 0
    return check(args.also) if args.what == "check" else diff()


if __name__ == "__main__":
    sys.exit(main())
