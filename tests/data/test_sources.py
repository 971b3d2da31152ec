"""The newer corpus sources: how their photos are found, turned upright, cut out and checked against the
evaluation set; and `edgecolor data fetch` recording each source in the manifest."""

import io
import json
import zipfile

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from edgecolor.data import sources
from edgecolor.data.sources import eval_match, is_normal_map, on_wall, opaque_band, phash, upright


def _photo(h, w, seed):
    """Smooth colourful noise with fine grain: photo-like (no flat areas), colourful."""
    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(img.astype(int) + rng.integers(-6, 7, img.shape), 0, 255).astype(np.uint8)


def _png(img):
    return cv2.imencode(".png", img)[1].tobytes()


def test_upright_turns_clockwise_as_the_album_records():
    img = np.zeros((2, 3, 3), np.uint8)
    img[0, 0] = 255  # top-left
    turned = upright(img, 90)
    assert turned.shape == (3, 2, 3) and turned[0, 1, 0] == 255  # top-left goes to top-right
    assert upright(img, 180)[1, 2, 0] == 255 and upright(img, 0) is img


def test_opaque_band_keeps_the_ground_below_a_cut_out_sky():
    img = _photo(100, 50, 1)
    alpha = np.full((100, 50), 255, np.uint8)
    alpha[:40] = 0  # sky
    alpha[90:, :30] = 0  # a notch at the bottom: that row is not fully opaque
    band = opaque_band(img, alpha)
    assert band is not None and band.shape[0] == 50 and np.array_equal(band, img[40:90])
    assert opaque_band(img, np.zeros((100, 50), np.uint8)) is None


def test_a_cut_out_lands_on_a_plain_near_neutral_wall():
    obj = _photo(60, 40, 2)
    alpha = np.zeros((60, 40), np.uint8)
    alpha[10:50, 10:30] = 255
    out = on_wall(obj, alpha, seed=3)
    assert out.shape == (81, 54, 3)
    corner = cv2.cvtColor(out[:5, :5].astype(np.float32) / 255, cv2.COLOR_BGR2Lab).reshape(-1, 3).mean(axis=0)
    assert corner[0] > 70 and np.hypot(corner[1], corner[2]) < 16  # a pale wall, near neutral (Lab chroma)
    y0, x0 = (81 - 60) // 2, (54 - 40) // 2
    assert np.array_equal(out[y0 + 20, x0 + 20], obj[20, 20])  # the opaque object is kept as it is


def test_normal_maps_are_recognised_by_their_colour():
    nm = np.empty((32, 32, 3), np.uint8)
    nm[...] = (250, 128, 127)  # BGR: blue high, red and green mid
    assert is_normal_map(nm) and not is_normal_map(_photo(32, 32, 4))


def test_the_perceptual_hash_finds_a_resized_recompressed_copy_and_not_another_photo():
    a, b = _photo(300, 400, 5), _photo(300, 400, 6)
    copy = cv2.imdecode(cv2.imencode(".jpg", cv2.resize(a, (200, 150)), [cv2.IMWRITE_JPEG_QUALITY, 70])[1], 1)
    hashes = [("a.png", phash(a))]
    assert eval_match(copy, hashes) == "a.png"
    assert eval_match(b, hashes) is None


def test_ufoai_keeps_photos_of_its_surface_folders_and_skips_maps(tmp_path):
    pk3 = tmp_path / "usr/share/games/ufoai/base/0textures.pk3"
    pk3.parent.mkdir(parents=True)
    nm = np.empty((300, 300, 3), np.uint8)
    nm[...] = (250, 128, 127)
    with zipfile.ZipFile(pk3, "w") as zf:
        zf.writestr("textures/tex_buildings/wall001.png", _png(_photo(300, 300, 7)))
        zf.writestr("textures/tex_buildings/wall001_nm.png", _png(_photo(300, 300, 8)))  # named as a map
        zf.writestr("textures/tex_buildings/wall002.png", _png(nm))  # looks like one
        zf.writestr("textures/tex_ufo/hull.png", _png(_photo(300, 300, 9)))  # not a surface folder
    names = [n for n, _ in sources._ufoai(tmp_path)]
    assert names == ["usr/share/games/ufoai/base/textures/tex_buildings/wall001.png"]


class _FakePackages:
    """Stands in for apt-get download + dpkg-deb -x: unpacked package trees written by the test."""

    def __init__(self, base):
        self.base = base

    def __call__(self, names, workdir):
        return {n: self.base / n for n in names}


def _fake_tree(tmp_path, eval_photo):
    base = tmp_path / "pkgs"
    wall = base / "fake-wallpapers/usr/share/backgrounds"
    wall.mkdir(parents=True)
    cv2.imwrite(str(wall / "hills.jpg"), _photo(300, 400, 10))
    doc = base / "fake-wallpapers/usr/share/doc/fake-wallpapers"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text("Files: *\nLicense: GPL-2+\n")
    demo = base / "kphotoalbum/usr/share/kphotoalbum/demo"
    demo.mkdir(parents=True)
    tall = _photo(400, 300, 11)  # the scene upright; stored turned a quarter counter-clockwise
    cv2.imwrite(str(demo / "bar.jpg"), cv2.rotate(tall, cv2.ROTATE_90_COUNTERCLOCKWISE), [cv2.IMWRITE_JPEG_QUALITY, 98])
    cv2.imwrite(str(demo / "copy.jpg"), cv2.resize(eval_photo, (400, 300)))  # a near-duplicate of data/eval
    (demo / "index.xml").write_text('<db><images><image file="bar.jpg" angle="90"/><image file="copy.jpg"/>'
                                    "</images></db>")
    kdoc = base / "kphotoalbum/usr/share/doc/kphotoalbum"
    kdoc.mkdir(parents=True)
    (kdoc / "copyright").write_text("This package is free software; either version 2 of the License, or ...\n")
    pk3 = base / "ufoai-textures/usr/share/games/ufoai/base/0textures.pk3"
    pk3.parent.mkdir(parents=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("textures/tex_buildings/carpet001.png", _png(_photo(256, 256, 12)))
    pk3.write_bytes(buf.getvalue())
    return base, tall


def test_data_fetch_records_each_source_turns_photos_upright_and_drops_eval_duplicates(tmp_path, monkeypatch):
    from edgecolor.cli import app
    from edgecolor.data import corpus

    eval_dir = tmp_path / "eval"
    eval_dir.mkdir()
    eval_photo = _photo(480, 640, 13)
    cv2.imwrite(str(eval_dir / "kitchen.png"), eval_photo)
    base, tall = _fake_tree(tmp_path, eval_photo)
    monkeypatch.setattr(corpus, "CORPUS_PACKAGES", ["fake-wallpapers"])
    monkeypatch.setattr(corpus, "unpack_packages", _FakePackages(base))
    monkeypatch.setattr(corpus, "deb_version", lambda workdir, pkg: "1.0-1")
    dest = tmp_path / "corpus"
    res = CliRunner().invoke(app, ["data", "fetch", "--dest", str(dest), "--sources", "kphotoalbum,ufoai-textures",
                                   "--eval-set", str(eval_dir), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["by_source"] == {"fake-wallpapers": 1, "kphotoalbum": 1, "ufoai-textures": 1}
    assert summary["by_kind"] == {"scene": 2, "texture": 1} and summary["dropped"]["eval_duplicate"] == 1
    manifest = json.loads((dest / "manifest.json").read_text())
    recorded = {r["package"]: r for r in manifest["sources"]}
    assert recorded["kphotoalbum"] | {"eval_duplicates_dropped": None} == {
        "package": "kphotoalbum", "registry": "debian", "version": "1.0-1", "kind": "scene", "photos": 1,
        "licences": ["GPL-2+"], "eval_duplicates_dropped": None}
    assert recorded["kphotoalbum"]["eval_duplicates_dropped"] == ["usr/share/kphotoalbum/demo/copy.jpg ~ kitchen.png"]
    assert recorded["ufoai-textures"]["kind"] == "texture" and recorded["ufoai-textures"]["photos"] == 1
    assert recorded["fake-wallpapers"]["licences"] == ["GPL-2+"]  # from its DEP-5 copyright file
    bar = next(e for e in manifest["entries"] if e["origin"].endswith("bar.jpg"))
    img = cv2.imread(str(dest / bar["file"]))
    assert img.shape[:2] == tall.shape[:2]  # stored sideways, written upright
    assert np.abs(img.astype(int) - tall).mean() < 6


def test_data_fetch_without_an_evaluation_set_keeps_its_duplicates_and_says_so(tmp_path, monkeypatch):
    """Fetching before 'data evalset' cannot drop the set's near-duplicates: the user is told, and the JSON and
    the manifest record it."""
    from edgecolor.cli import app
    from edgecolor.data import corpus

    base, _ = _fake_tree(tmp_path, _photo(480, 640, 13))
    monkeypatch.setattr(corpus, "CORPUS_PACKAGES", ["fake-wallpapers"])
    monkeypatch.setattr(corpus, "unpack_packages", _FakePackages(base))
    monkeypatch.setattr(corpus, "deb_version", lambda workdir, pkg: "1.0-1")
    dest, missing = tmp_path / "corpus", tmp_path / "no-eval"
    res = CliRunner().invoke(app, ["data", "fetch", "--dest", str(dest), "--sources", "kphotoalbum",
                                   "--eval-set", str(missing), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["eval_checked"] is False and summary["by_source"]["kphotoalbum"] == 2
    assert f"no evaluation set at {missing}" in res.stderr and "edgecolor data evalset" in res.stderr
    assert "skipped" in json.loads((dest / "manifest.json").read_text())["eval_check"]


def test_data_fetch_refuses_an_unknown_source_in_one_line(tmp_path):
    from edgecolor.cli import app

    res = CliRunner().invoke(app, ["data", "fetch", "--dest", str(tmp_path / "c"), "--sources", "nope"])
    assert res.exit_code == 2 and "unknown source nope" in res.output
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("origin, source", [
    ("usr/share/games/ufoai/base/textures/tex_buildings/wall001.png", "ufoai-textures:tex_buildings"),
    ("usr/share/games/ufoai/base/textures/tex_nature/grass.jpg", "ufoai-textures:tex_nature"),
])
def test_ufoai_folders_are_sources_of_their_own(origin, source):
    from edgecolor.data.split import INDOOR_FOLD, held_out, source_of

    got = source_of({"source": "ufoai-textures", "origin": origin})
    assert got == source
    assert held_out(got, 2) == (got in INDOOR_FOLD)
