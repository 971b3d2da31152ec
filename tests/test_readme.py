"""The README's use section is a test: each ``console`` block runs, line by line, in an empty folder.

The folder holds what the README's commands name: the bundled clip at ``edgecolor/assets/sample.mp4`` (a copy),
a gray photo ``old_photo.jpg`` and a folder ``scans/`` of gray images, both cut from the clip here. Commands run
with the venv's ``edgecolor`` executable, ``HOME`` inside the folder and no display. Each must exit 0, every
input it names must exist, and every output it names must decode: images with OpenCV, videos with the frame
count their source gives, folders file by file, ``--json`` as one JSON object, a build as an engine with its
manifest.

The ``sh`` blocks of the use section are not run, by design: each line needs a camera, a GPU, a Ray cluster,
the network or hours, and says which in its comment; :func:`test_not_run_by_design` reports each one as a skip
with that reason (``pytest -rs`` lists them).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import pytest

from edgecolor.jobs.record import RECORD

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SAMPLE = ROOT / "edgecolor" / "assets" / "sample.mp4"
EDGECOLOR = Path(sys.executable).with_name("edgecolor")
MAX_README_LINES = 300
IMAGES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEOS = {".mp4", ".avi", ".mkv", ".mov", ".webm"}
OUTPUT_OPTIONS = {"-o", "--output", "--sink", "--sheet"}
NOT_FILES = {"null", "window"}


@dataclass(frozen=True)
class Block:
    job: str  # the ### heading it sits under
    lang: str  # console: run; sh: not run, with a reason per line
    lines: tuple[str, ...]


def use_blocks(text: str) -> list[Block]:
    """The fenced blocks of the ``## Use`` section, with the ``###`` heading each sits under."""
    section = text.split("\n## Use\n", 1)[1].split("\n## ", 1)[0]
    blocks, job, fence, body = [], "", None, []
    for line in section.splitlines():
        if fence is None and line.startswith("### "):
            job = line[4:].split(":")[0].strip()
        elif fence is None and line.startswith("```"):
            fence, body = line[3:].strip(), []
        elif fence is not None and line.startswith("```"):
            blocks.append(Block(job, fence, tuple(b for b in body if b.strip())))
            fence = None
        elif fence is not None:
            body.append(line)
    return blocks


BLOCKS = use_blocks(README.read_text())
RUN = [b for b in BLOCKS if b.lang == "console"]
NOT_RUN = [(b.job, line) for b in BLOCKS if b.lang == "sh" for line in b.lines]


def test_readme_is_short_and_its_use_section_has_a_tested_block_per_job():
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines (at most {MAX_README_LINES})"
    assert {b.job for b in RUN} == {"Kiosk", "Archive", "Engineer"}
    assert {b.lang for b in BLOCKS} <= {"console", "sh"}, "the use section's blocks are console (run) or sh (not run)"
    for block in RUN:
        for line in block.lines:
            assert line.startswith("$ edgecolor "), f"{block.job}: a tested line is '$ edgecolor ...', got {line!r}"


def test_every_block_not_run_is_labelled_and_says_why():
    section = README.read_text().split("\n## Use\n", 1)[1].split("\n## ", 1)[0]
    for fence in re.finditer(r"^```sh$", section, re.M):
        before = section[:fence.start()].rstrip().splitlines()[-1]
        assert before == "Not run by `make test`:", f"an sh block in the use section is labelled {before!r}"
    assert NOT_RUN
    for job, line in NOT_RUN:
        command, _, reason = line.partition("  # ")
        assert command.strip() and reason.strip(), f"{job}: '{line}' needs a '  # why it is not run' comment"


@pytest.mark.parametrize(("job", "line"), NOT_RUN, ids=[line.split("  #")[0].strip() for _, line in NOT_RUN])
def test_not_run_by_design(job, line):
    command, _, reason = line.partition("  # ")
    pytest.skip(f"README {job}: `{command.strip()}` is not run by design: {reason.strip()}")


@pytest.fixture
def folder(tmp_path):
    """An empty folder with the bundled clip, a gray photo and a folder of gray scans; HOME inside it."""
    (tmp_path / "edgecolor" / "assets").mkdir(parents=True)
    shutil.copy(SAMPLE, tmp_path / "edgecolor" / "assets" / "sample.mp4")
    frames = read_video(SAMPLE)
    gray = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames[::30]]
    assert cv2.imwrite(str(tmp_path / "old_photo.jpg"), gray[0])
    (tmp_path / "scans").mkdir()
    for i, g in enumerate(gray[1:4]):
        assert cv2.imwrite(str(tmp_path / "scans" / f"scan{i}.png"), g if i else cv2.resize(g, (320, 240)))
    (tmp_path / "home").mkdir()
    return tmp_path


def read_video(path: Path) -> list:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def video_fps(path: Path) -> float:
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return fps


def option_values(argv: list[str], names: set[str]) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg in names]


def looks_like_a_path(arg: str) -> bool:
    return "/" in arg or Path(arg).suffix.lower() in IMAGES | VIDEOS | {".onnx", ".json"}


def check_inputs_exist(argv: list[str], cwd: Path) -> None:
    """Every file a command reads (a positional path, ``--source``, ``--model``) exists in the test folder."""
    for prev, arg in zip(argv, argv[1:], strict=False):
        an_option_value = prev.startswith("-") and prev not in ("--source", "--model")
        if arg.startswith("-") or prev in OUTPUT_OPTIONS or an_option_value:
            continue
        if looks_like_a_path(arg):
            assert (cwd / arg).exists(), f"{shlex.join(argv)}: input {arg} does not exist in the test folder"


def video_inputs(argv: list[str]) -> list[str]:
    outputs = set(option_values(argv, OUTPUT_OPTIONS))
    return [a for a in argv[2:] if Path(a).suffix.lower() in VIDEOS and a not in outputs]


def check_output(argv: list[str], cwd: Path, out: str) -> None:
    path = cwd / out
    command = shlex.join(argv)
    assert path.exists(), f"{command}: wrote no {out}"
    if path.is_dir():
        inputs = [a for a in argv[2:] if (cwd / a).is_dir() and a != out]
        names = sorted(p.name for p in (cwd / inputs[0]).iterdir()) if inputs else None
        written = sorted(p.name for p in path.iterdir() if p.name != RECORD)  # RECORD: which outputs are complete
        assert written and (names is None or written == names), f"{command}: {out} holds {written}, expected {names}"
        for p in path.iterdir():
            if p.name == RECORD:
                continue
            assert cv2.imread(str(p)) is not None, f"{command}: {p.name} does not decode"
    elif path.suffix.lower() in IMAGES:
        image = cv2.imread(str(path))
        assert image is not None and image.ndim == 3, f"{command}: {out} does not decode as a colour image"
    elif path.suffix.lower() in VIDEOS:
        frames = read_video(path)
        assert frames and all(f.ndim == 3 for f in frames), f"{command}: {out} does not decode"
        source = cwd / (video_inputs(argv) or option_values(argv, {"--source"}))[0]
        want = int(option_values(argv, {"--max-frames"})[0]) if "--max-frames" in argv else len(read_video(source))
        assert len(frames) == want, f"{command}: {out} has {len(frames)} frames, expected {want}"
        if argv[1] in ("colorize", "stylize"):  # a file job keeps the source's timing
            assert video_fps(path) == pytest.approx(video_fps(source), rel=0.01), f"{command}: frame rate changed"
    else:
        raise AssertionError(f"{command}: the test does not know how to check {out}")


def check_build(argv: list[str], cwd: Path, engines_before: set[Path]) -> None:
    new = sorted(set((cwd / "engines").glob("*.onnx")) - engines_before)
    assert len(new) == 1, f"{shlex.join(argv)}: expected one new engine in engines/, got {new}"
    manifest = json.loads(Path(f"{new[0]}.json").read_text())
    assert manifest["precision"] == option_values(argv, {"--precision"})[0]
    assert manifest["target"] == option_values(argv, {"--target"})[0]


def run_line(line: str, cwd: Path, env: dict[str, str]) -> None:
    argv = shlex.split(line[2:], comments=True)
    outputs = [o for o in option_values(argv, OUTPUT_OPTIONS) if o not in NOT_FILES]
    check_inputs_exist(argv, cwd)
    engines_before = set((cwd / "engines").glob("*.onnx"))
    proc = subprocess.run([str(EDGECOLOR), *argv[1:]], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, f"{line}\nexit {proc.returncode}\n{proc.stderr[-3000:]}\n{proc.stdout[-2000:]}"
    if "--json" in argv:
        assert isinstance(json.loads(proc.stdout), dict), f"{line}: --json printed no JSON object"
    for out in outputs:
        check_output(argv, cwd, out)
    if argv[1] == "build":
        check_build(argv, cwd, engines_before)


@pytest.mark.parametrize("block", RUN, ids=[b.job for b in RUN])
def test_use_block_runs_on_bundled_files(block, folder):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(HOME=str(folder / "home"), PYTHONDONTWRITEBYTECODE="1")
    for line in block.lines:
        run_line(line, folder, env)


ROUND_OF_WORK = r"\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|this|last|previous) session\b"


def test_no_file_tells_which_round_of_work_did_what():
    """Docs in the present tense: a file says what the code does and the records say when it was measured."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    res = subprocess.run(["git", "-C", str(ROOT), "grep", "-I", "-n", "-i", "-E", ROUND_OF_WORK],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1 and not res.stdout, f"name what was measured or built instead:\n{res.stdout}"
