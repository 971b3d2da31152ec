"""Fetch Debian packages by name and unpack them without installing (``apt-get download`` + ``dpkg-deb -x``)."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
from pathlib import Path

from edgecolor.errors import DataError


def _run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise DataError(
            f"'{' '.join(cmd)}' failed: {last}",
            "run 'apt-get update' (as root) and retry, or build the corpus from your own photos with --from-folder DIR",
        )


def unpack_packages(names: list[str], workdir: Path) -> dict[str, Path]:
    """Download each package's .deb into ``workdir`` and unpack it; returns name -> unpacked root."""
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise DataError(
                f"'{tool}' is not available on this machine (edgecolor builds its corpus from Debian packages)",
                "use your own photos instead: edgecolor data fetch --from-folder DIR",
            )
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    roots = {}
    for name in names:
        root = workdir / name
        if not (root / ".unpacked").exists():
            debs = list(workdir.glob(f"{name}_*.deb"))
            if not debs:
                _run(["apt-get", "download", name], cwd=workdir)
                debs = list(workdir.glob(f"{name}_*.deb"))
            if not debs:
                raise DataError(f"apt-get download {name} produced no .deb", "run 'apt-get update' and retry")
            _run(["dpkg-deb", "-x", str(debs[0]), str(root)], cwd=workdir)
            (root / ".unpacked").touch()
        roots[name] = root
    return roots


def licence_lookup(root: Path, package: str):  # type: ignore[no-untyped-def]
    """Return ``f(relative_path) -> licence`` from the package's DEP-5 copyright file (last match wins)."""
    copyright_file = root / "usr/share/doc" / package / "copyright"
    rules: list[tuple[list[str], str]] = []
    if copyright_file.exists():
        text = copyright_file.read_text(errors="replace")
        for para in re.split(r"\n\s*\n", text):
            files = re.search(r"^Files:(.*(?:\n[ \t].*)*)", para, re.M)
            lic = re.search(r"^License:\s*(\S.*)$", para, re.M)
            if files and lic:
                rules.append((files.group(1).split(), lic.group(1).strip()))

    def lookup(rel: str) -> str:
        found = f"see /usr/share/doc/{package}/copyright"
        for patterns, lic in rules:
            # Patterns are relative to the upstream source tree, not the install path: match the tail too
            # (lomiri lists "16.04/NAME.jpg" for usr/share/backgrounds/NAME.jpg).
            if any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel, "*/" + p)
                   or ("*" not in p and Path(rel).name == Path(p).name) for p in patterns):
                found = lic
        return found

    return lookup
