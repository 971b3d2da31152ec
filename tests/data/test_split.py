"""Validation by source: whole packages (or gcompris activity files) are held out, paintings are not photos."""

from edgecolor.data.split import NOT_PHOTOS, VAL_SOURCES, source_of, split_corpus


def entry(i, source, origin=""):
    return {"file": f"images/{i:04d}.jpg", "source": source, "origin": origin}


def test_held_out_sources_are_validation_and_never_trained_on():
    entries = [entry(i, "plasma-workspace-wallpapers") for i in range(10)]
    entries += [entry(100 + i, "mate-backgrounds") for i in range(4)]
    entries += [entry(200 + i, "gcompris-qt-data", f"usr/share/gcompris-qt/rcc/{act}.rcc#{i}")
                for i, act in enumerate(["categorization", "explore_monuments", "paintings", "details"])]
    train, val = split_corpus(entries)
    train_src, val_src = {source_of(e) for e in train}, {source_of(e) for e in val}
    assert val_src == {"mate-backgrounds", "gcompris-qt-data:explore_monuments"} and val_src <= set(VAL_SOURCES)
    assert train_src == {"plasma-workspace-wallpapers", "gcompris-qt-data:categorization"}
    assert not (train_src | val_src) & set(NOT_PHOTOS)
    assert len(train) + len(val) == len(entries) - 2


def test_a_folder_corpus_falls_back_to_every_tenth_photo():
    entries = [entry(i, "user") for i in range(30)]
    train, val = split_corpus(entries)
    assert len(val) == 3 and len(train) == 27 and not {e["file"] for e in train} & {e["file"] for e in val}


def test_the_folds_hold_out_every_source_once_and_the_refit_trains_on_all():
    from edgecolor.data.split import FOLDS, VAL_FOLDS

    sources = [*VAL_FOLDS[0], *VAL_FOLDS[1], *VAL_FOLDS[2], "plasma-workspace-wallpapers", "a-new-package"]
    entries = [entry(i, src, f"usr/share/games/ufoai/base/textures/{src.split(':')[1]}/x.png")
               if src.startswith("ufoai-textures:") else entry(i, src) for i, src in enumerate(sources)]
    held = []
    for fold in range(FOLDS):
        train, val = split_corpus(entries, fold)
        assert not {e["file"] for e in train} & {e["file"] for e in val}
        assert len(train) + len(val) == len(entries)
        held.append({source_of(e) for e in val})
    assert held[0] == set(VAL_SOURCES) and held[1] == set(VAL_FOLDS[1])
    assert held[2] == set(VAL_FOLDS[2]) and "kphotoalbum" in held[2]  # the indoor-like fold
    assert held[3] == {"plasma-workspace-wallpapers", "a-new-package"}  # the last fold: every other source
    assert split_corpus(entries, None) == (sorted(entries, key=lambda e: e["file"]), [])
    from edgecolor.choices import ValFold

    assert ValFold.values() == (*map(str, range(FOLDS)), "all")  # train --val-fold offers each fold


def test_an_unknown_fold_is_refused():
    import pytest

    from edgecolor.data.split import FOLDS

    with pytest.raises(ValueError, match="fold"):
        split_corpus([entry(0, "mate-backgrounds")], FOLDS)
