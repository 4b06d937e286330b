"""Run-time behaviour of every model: parameters shown, threads, progress bar."""

import pickle
import re

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import (
    GridSearchCV,
    TunedThresholdClassifierCV,
    cross_val_predict,
    cross_validate,
)
from skorch.callbacks import Callback
from skorch.dataset import ValidSplit

from sklearn_wsvad.datasets import make_wsvad_videos
from sklearn_wsvad.models import MagnitudeMILDetector, MILRankingDetector
from sklearn_wsvad.utils._runtime import available_cpus, resolve_threads, torch_threads


@pytest.fixture(scope="module")
def data():
    d = make_wsvad_videos(16, n_features=8, min_clips=8, max_clips=16, random_state=0)
    return d.videos, d.target


def _model(**params):
    return MagnitudeMILDetector(**{"hidden_sizes": (8,), "max_epochs": 2, "batch_size": 8,
                                   "random_state": 0, **params})


# ---- parameters shown ---------------------------------------------------------
def test_get_params_lists_own_parameters_and_skorch_ones_once_set():
    own = MagnitudeMILDetector._declared_params()
    assert set(MagnitudeMILDetector().get_params(deep=False)) == own
    est = MagnitudeMILDetector(train_split=ValidSplit(4), module__dropout=0.1)
    params = est.get_params(deep=False)
    assert set(params) == own | {"train_split", "module__dropout"}
    # a skorch parameter at its default can still be set, and is listed after
    est.set_params(warm_start=True, iterator_train__shuffle=False)
    assert est.get_params()["warm_start"] is True
    assert est.iterator_train__shuffle is False
    # clone keeps what was set, and only that
    copy = clone(est)
    assert isinstance(copy.train_split, ValidSplit) and copy.warm_start is True
    assert set(copy.get_params(deep=False)) == set(est.get_params(deep=False))


def test_html_repr_highlights_only_what_the_user_set():
    est = MagnitudeMILDetector(max_epochs=3, train_split=ValidSplit(4))
    html = est._repr_html_()
    rows = re.findall(r'aria-label="Copy (\w+) to clipboard', html)
    user_set = re.findall(
        r'class="user-set">\s*<td><button type="button" class="copy-paste-icon"\s*'
        r'aria-label="Copy (\w+)', html)
    assert sorted(user_set) == ["max_epochs", "train_split"]
    assert set(rows) == set(est.get_params(deep=False))  # no callbacks__... rows


# ---- threads ------------------------------------------------------------------
class _RecordThreads(Callback):
    def on_epoch_begin(self, net, **kwargs):
        net.threads_seen_ = torch.get_num_threads()


@pytest.mark.parametrize("n_threads, expected", [(1, 1), ("auto", None), (None, None)])
def test_fit_and_scoring_run_with_n_threads_and_restore_the_setting(data, n_threads, expected):
    videos, y = data
    before = torch.get_num_threads()
    est = _model(n_threads=n_threads, callbacks=[_RecordThreads()]).fit(videos, y)
    assert torch.get_num_threads() == before
    if n_threads == "auto":
        expected = max(1, min(before, available_cpus() // 2))
    assert est.threads_seen_ == (before if expected is None else expected)
    seen = []
    original = est._per_clip_checked

    def spy(*args):
        seen.append(torch.get_num_threads())
        return original(*args)

    est._per_clip_checked = spy
    est.decision_function(videos[:2])
    assert seen == [before if expected is None else expected]
    assert torch.get_num_threads() == before


def test_torch_threads_restores_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="boom"), torch_threads(1):
        assert torch.get_num_threads() == 1
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_overlapping_blocks_restore_the_setting_of_before_the_first():
    # fits in two threads of one process: exits in the other order than entries
    before = torch.get_num_threads()
    first, second = torch_threads(1), torch_threads(2)
    first.__enter__()
    second.__enter__()
    assert torch.get_num_threads() == 2
    first.__exit__(None, None, None)
    assert torch.get_num_threads() == 2  # the second block still runs
    second.__exit__(None, None, None)
    assert torch.get_num_threads() == before


def test_scoring_refuses_a_bad_n_threads_by_name(data):
    est = _model().fit(*data)
    est.n_threads = 0  # set as an attribute after fit: no set_params validation
    with pytest.raises(ValueError, match="n_threads=0: expected 'auto', -1"):
        est.decision_function(data[0][:2])


def test_resolve_threads_rules():
    assert resolve_threads(None) is None
    assert resolve_threads(3) == 3
    assert resolve_threads(-1) == available_cpus()
    assert 1 <= resolve_threads("auto") <= max(1, available_cpus() // 2)


@pytest.mark.parametrize("bad", [0, -2, "all", 1.5])
def test_bad_n_threads_is_refused_before_training(data, bad):
    with pytest.raises(ValueError, match="n_threads"):
        _model(n_threads=bad).fit(*data)


# ---- progress -----------------------------------------------------------------
def _bars(text):
    return re.findall(r"MagnitudeMILDetector: 100%.*?2/2", text)


def test_one_progress_bar_per_fit_by_default(data, capsys):
    est = _model().fit(*data)
    err = capsys.readouterr().err
    assert len(set(_bars(err))) >= 1 and "epoch" in err
    assert "train_loss" in err
    assert "_epoch_bar_" not in vars(est)  # closed and dropped
    est.partial_fit(*data)
    assert _bars(capsys.readouterr().err)


class _PickleEachEpoch(Callback):
    def on_epoch_end(self, net, **kwargs):
        net.pickled_.append(len(pickle.dumps(net)))


def test_the_estimator_pickles_while_its_bar_is_open(data):
    # e.g. skorch's Checkpoint(f_pickle=...) pickles the net during fit
    est = _model(progress_bar=True, callbacks=[_PickleEachEpoch()])
    est.pickled_ = []
    est.fit(*data)
    assert len(est.pickled_) == 2
    copy = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(copy.decision_function(data[0]), est.decision_function(data[0]))


def test_bar_ends_full_when_early_stopping_ends_the_fit(data, capsys):
    from skorch.callbacks import EarlyStopping

    est = _model(max_epochs=50, progress_bar=True, train_split=ValidSplit(4, stratified=True),
                 callbacks=[EarlyStopping(patience=1, threshold=10.0)])
    est.fit(*data)
    done = len(est.history_)
    assert done < 50
    assert f"{done}/{done}" in capsys.readouterr().err


def test_no_bar_inside_searches_unless_asked(data, capsys):
    videos, y = data
    GridSearchCV(_model(), {"lr": [1e-3, 1e-2]}, cv=2).fit(videos, y)
    out = capsys.readouterr()
    # the refit of the best candidate runs outside the cross-validation: one bar
    assert len(re.findall(r"MagnitudeMILDetector: 100%", out.err)) == 1
    cross_validate(_model(), videos, y, cv=2)
    assert "MagnitudeMILDetector" not in capsys.readouterr().err
    cross_val_predict(_model(), videos, y, cv=2, method="decision_function")
    assert "MagnitudeMILDetector" not in capsys.readouterr().err
    # tuning the threshold: its per-split fits are quiet, the final fit shows one bar
    TunedThresholdClassifierCV(_model(), cv=2).fit(videos, y)
    assert len(re.findall(r"MagnitudeMILDetector: 100%", capsys.readouterr().err)) == 1
    cross_validate(_model(progress_bar=True), videos, y, cv=2)
    assert len(re.findall(r"MagnitudeMILDetector: 100%", capsys.readouterr().err)) == 2


def test_progress_bar_off_and_verbose_replace_the_bar(data, capsys):
    _model(progress_bar=False).fit(*data)
    assert capsys.readouterr().err == ""
    est = _model(verbose=1).fit(*data)
    out = capsys.readouterr()
    assert "train_loss" in out.out and "MagnitudeMILDetector" not in out.err
    # a refit re-initialises without skorch's "Re-initializing" lines
    est.fit(*data)
    assert "Re-initializing" not in capsys.readouterr().out


def test_other_models_share_the_runtime_parameters():
    est = MILRankingDetector(n_threads=2, progress_bar=False)
    assert est.get_params()["n_threads"] == 2 and est.get_params()["progress_bar"] is False
    assert np.isin(["n_threads", "progress_bar"], list(est._declared_params())).all()
