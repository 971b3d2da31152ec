"""``benchmarks/README.md`` indexes every benchmark record: each file in ``benchmarks/results/`` is named there,
its links resolve, and no record is named after the round of work that made it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INDEX = ROOT / "benchmarks" / "README.md"
RESULTS = ROOT / "benchmarks" / "results"


def test_every_record_is_in_the_index():
    text = INDEX.read_text()
    missing = sorted(p.name for p in RESULTS.iterdir() if f"`{p.name}`" not in text)
    assert RESULTS.is_dir() and not missing, f"add to benchmarks/README.md (date, machine, load): {missing}"


def test_index_links_resolve():
    links = [link for link in re.findall(r"\]\(([^)#\s]+)", INDEX.read_text()) if not link.startswith("http")]
    assert links and all((INDEX.parent / link).resolve().exists() for link in links), links


def test_records_are_named_by_what_they_measure():
    rounds = [p.name for p in RESULTS.iterdir() if re.search(r"(^|-)(s\d+|session\d*)([-.]|$)", p.name)]
    assert not rounds, f"name what each record measures, not the round of work: {rounds}"
