"""The layout writers and the shared library-side helper of benchmarks/parity/
(the runners need the official repositories and are not run here)."""

import sys
from pathlib import Path

import numpy as np
import pytest

from sklearn_wsvad.datasets import load_features
from sklearn_wsvad.refine import SnippetReformer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "parity"))

import layouts  # noqa: E402


@pytest.fixture(scope="module")
def split():
    return layouts.make_multicrop_split("similar_norm", n_crops=3, n_features=8, n_train=12,
                                        n_test=6, random_state=0)


def test_multicrop_split_views_every_clip(split):
    train, test = split
    assert len(train.videos) == 12 and len(test.videos) == 6
    for v, f in zip(test.videos, test.frame_labels):
        assert v.ndim == 3 and v.shape[1:] == (3, 8) and v.dtype == np.float32
        assert abs(len(f) - 16 * len(v)) < 16  # aligned within one clip
    # the crops are views of one clip: close to each other, not identical
    v = train.videos[0]
    spread = np.abs(v - v.mean(axis=1, keepdims=True)).mean()
    assert 0 < spread < 0.5 * np.abs(v).mean()
    assert [n.startswith("Abuse") for n in train.names] == list(train.target == 1)


def test_rtfm_layout_lists_abnormal_first_and_concatenates_the_ground_truth(split, tmp_path):
    train, test = split
    out = layouts.write_rtfm_layout(tmp_path, train, test)
    lines = out.train_list.read_text().split()
    assert len(lines) == 12 and out.n_abnormal == int(train.target.sum())
    names = [Path(p).stem for p in lines]
    assert all(n.startswith("Abuse") for n in names[:out.n_abnormal])
    assert all(n.startswith("Normal") for n in names[out.n_abnormal:])
    first = train.names.index(names[0])
    np.testing.assert_array_equal(np.load(lines[0]), train.videos[first])
    gt = np.load(out.gt)
    # 16 labels per clip, as RTFM's np.repeat(scores, 16) expects
    assert gt.size == 16 * sum(len(v) for v in test.videos)
    first = np.asarray(test.frame_labels[0])
    np.testing.assert_array_equal(gt[:first.size], first)
    # the library reads it back, crops stacked, in list order
    back = load_features(out.test_list, root=tmp_path, crops="stack")
    assert back.names == test.names
    np.testing.assert_array_equal(np.asarray(back.videos[2]), test.videos[2])


def test_per_crop_layout_is_read_back_by_the_loader(split, tmp_path):
    train, test = split
    out = layouts.write_per_crop_layout(tmp_path, train, test)
    lines = out.train_list.read_text().split()
    assert len(lines) == 12 * 3 and lines[0].endswith("__0.npy") and lines[2].endswith("__2.npy")
    back = load_features(out.train_list, crops="stack", labels="xd-violence")
    assert back.layout == "per_crop" and back.n_crops == 3
    np.testing.assert_array_equal(back.target, train.target)
    np.testing.assert_array_equal(np.asarray(back.videos[1]), train.videos[1])


def test_xd_lists_put_abnormal_crop_files_first(split, tmp_path):
    train, test = split
    out = layouts.write_per_crop_layout(tmp_path / "features", train, test)
    n_abnormal = layouts.write_xd_lists(tmp_path, out)
    lines = (tmp_path / "list" / "XD_Train.list").read_text().split()
    assert n_abnormal == 3 * int(train.target.sum()) and len(lines) == 3 * len(train.target)
    assert not any("_label_A" in line for line in lines[:n_abnormal])
    assert all("_label_A" in line for line in lines[n_abnormal:])
    assert sorted(lines) == sorted(out.train_list.read_text().split())
    test_lines = (tmp_path / "list" / "XD_Test.list").read_text().split()
    assert test_lines == out.test_list.read_text().split()


def test_sultani_layout_pools_by_the_matlab_rule_and_normalises(split, tmp_path):
    train, test = split
    out = layouts.write_sultani_layout(tmp_path, train, test)
    seg = np.loadtxt(out["train"][0])
    assert seg.shape == (32, 8)
    np.testing.assert_allclose(np.linalg.norm(seg, axis=1), 1.0, atol=1e-5)
    pooled = SnippetReformer(boundaries="sultani").fit_transform([train.videos[0].mean(axis=1)])[0]
    np.testing.assert_allclose(seg, pooled / np.linalg.norm(pooled, axis=1, keepdims=True),
                               atol=1e-6)
    lines = out["train_annotation"].read_text().split()
    names, frames = lines[0::2], lines[1::2]
    assert names == [f"train/{n}.mp4" for n in train.names]
    assert frames == [str(16 * len(v)) for v in train.videos]
    assert ["Normal" in n for n in names] == [y == 0 for y in train.target]


def test_fit_and_score_trains_whole_epochs_near_the_step_budget(split):
    from parity_common import fit_and_score
    from sklearn.pipeline import make_pipeline

    from sklearn_wsvad.models import MagnitudeMILDetector

    train, test = split
    train2d = type(train)(videos=[v.mean(axis=1) for v in train.videos], target=train.target)
    test2d = type(test)(videos=[v.mean(axis=1) for v in test.videos])
    epochs_seen = []

    def make_pipe(epochs):
        epochs_seen.append(epochs)
        return make_pipeline(MagnitudeMILDetector(batch_size=4, max_epochs=epochs,
                                                  random_state=0))

    # 6 videos of the larger class, 2 per class and step: 3 steps an epoch; 10 steps -> 3 epochs
    pipe, scores, s_step, clips_s, done = fit_and_score(make_pipe, train2d, test2d, 10, 6, 2)
    assert epochs_seen == [3] and done == 9
    assert len(pipe[-1].history) == 3
    assert [len(s) for s in scores] == [len(v) for v in test2d.videos]
    assert s_step > 0 and clips_s > 0
