"""The repository as a newcomer meets it: the lock covers every dependency, links resolve, the wheel carries
the licence."""

import platform
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import lock  # noqa: E402


def requirement_names(specs):
    return {lock.canon(re.split(r"[<>=!~\[; ]", s, maxsplit=1)[0]) for s in specs}


def test_lock_pins_every_dependency_of_every_locked_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = requirement_names(project["dependencies"])
    for extra, specs in project["optional-dependencies"].items():
        if extra != "trt":  # TensorRT comes from NVIDIA's index or JetPack
            wanted |= requirement_names(specs)
    text = (ROOT / "requirements.lock").read_text()
    pinned = {lock.canon(m.group(1)) for line in text.splitlines() if (m := lock.PIN.match(line))}
    assert wanted - pinned == set()
    assert all("==" in line for line in text.splitlines() if line and not line.startswith((" ", "#")))


def test_lock_markers_split_torch_by_platform():
    torch_lines = [line for line in (ROOT / "requirements.lock").read_text().splitlines() if line.startswith("torch==")]
    assert len(torch_lines) == 2 and all("platform_machine" in line for line in torch_lines)
    here = lock.pins("\n".join(torch_lines))  # exactly one of the two applies on any machine
    assert len(here) == 1 and here["torch"].endswith("+cpu") == (platform.machine() == "x86_64")


def test_check_names_what_differs_from_the_lock(tmp_path, monkeypatch, capsys):
    fake = tmp_path / "requirements.lock"
    fake.write_text("numpy==0.0.1\n")
    monkeypatch.setattr(lock, "LOCK", fake)
    monkeypatch.setattr(lock, "installed", lambda: {"numpy": "2.0.0", "edgecolor": "0.1.0"})
    assert lock.check([]) == 1
    assert "numpy 2.0.0 (lock: 0.0.1)" in capsys.readouterr().err
    fake.write_text("numpy==2.0.0\n")
    assert lock.check([]) == 0


def markdown_links(path):
    return [m.group(1) for m in re.finditer(r"\]\(([^)#\s]+)[^)]*\)", path.read_text())
            if not m.group(1).startswith(("http://", "https://", "mailto:"))]


@pytest.mark.parametrize("doc", ["README.md", *[str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")]])
def test_links_stay_inside_the_repository_and_resolve(doc):
    path = ROOT / doc
    for link in markdown_links(path):
        target = (path.parent / link).resolve()
        assert target.is_relative_to(ROOT) and target.exists(), f"{doc}: {link}"


def test_readme_commands_use_only_shipped_files():
    text = (ROOT / "README.md").read_text()
    assert "vtest.avi --" not in text and "../shared" not in text
    for folder in ("engines", "calibration"):
        assert (ROOT / folder / "README.md").is_file()


def test_wheel_carries_the_licence_and_the_bundled_assets(tmp_path):
    """Built from a copy: setuptools writes build/ and *.egg-info beside the sources it builds."""
    import shutil

    source = tmp_path / "src"
    shutil.copytree(ROOT / "edgecolor", source / "edgecolor", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "LICENSE", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(source)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("edgecolor-*.whl")
    archive = zipfile.ZipFile(wheel)
    licences = [n for n in archive.namelist() if n.endswith("licenses/LICENSE")]
    assert licences and "Apache License" in archive.read(licences[0]).decode()
    names = set(archive.namelist())
    gate = [n for n in names if n.startswith("edgecolor/assets/gate/") and n.endswith(".jpg")]
    assert "edgecolor/assets/colorizer.onnx" in names and "edgecolor/assets/gate/manifest.json" in names
    assert len(gate) == len(list((ROOT / "edgecolor" / "assets" / "gate").glob("*.jpg")))


def test_pytest_collects_every_test_folder(pytestconfig):
    """pytest skips folders matching its ``norecursedirs`` (by default ``build``, ``dist``, ``venv``, ...):
    the builder's tests sat in ``tests/build/`` and no ``make test`` ever ran them."""
    from fnmatch import fnmatch

    patterns = pytestconfig.getini("norecursedirs")
    folders = [p for p in (ROOT / "tests").rglob("*") if p.is_dir() and "__pycache__" not in p.parts]
    skipped = [str(p.relative_to(ROOT)) for p in folders if any(fnmatch(p.name, pat) for pat in patterns)
               and any(p.glob("test_*.py"))]
    assert patterns and not skipped, f"pytest never runs {skipped}: rename them"
