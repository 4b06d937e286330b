import io
from pathlib import Path

import numpy as np
import pytest

from sklearn_wsvad.cli.main import main


def test_reproduce_prints_tables_and_writes_figures(tmp_path):
    out = io.StringIO()
    code = main(["reproduce", "--seeds", "2", "--n-videos", "40", "--n-features", "8",
                 "--max-epochs", "2", "--n-clusters", "5", "--n-top", "2", "--quiet",
                 "--output-dir", str(tmp_path)], stdout=out)
    text = out.getvalue()
    assert code == 0
    assert "Table 1" in text and "| Top2   |" in text and "| Bot3   |" in text
    for name in ("Baseline", "Top2-Top2", "Bot3-Bot3", "Top2-Bot3", "Bot3-Top2"):
        assert f"| {name}" in text
    assert "over 2 seed(s)" in text
    for i, fig in enumerate(("figure1_roc.png", "figure2_score_histograms.png",
                             "figure3_timeline.png"), 1):
        assert (tmp_path / fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"Figure {i}: {tmp_path / fig}" in text
    assert "not expected to match the paper's" in text
    # the tables also as files: JSON with every seed's value, CSV with mean and std
    import csv
    import json

    assert f"Tables: {tmp_path / 'tables.json'}, {tmp_path / 'table2.csv'}" in text
    saved = json.loads((tmp_path / "tables.json").read_text())
    assert saved["settings"]["n_seeds"] == 2 and saved["table3"] is None
    rows = list(csv.DictReader(open(tmp_path / "table2.csv")))
    assert {r["configuration"] for r in rows} == {
        "Baseline", "Top2-Top2", "Bot3-Bot3", "Top2-Bot3", "Bot3-Top2", "Feature norm"}
    for row in rows:
        seeds = saved["table2" if row["configuration"] != "Feature norm" else "reference"][
            row["configuration"]][row["metric"]]
        assert [float(row["seed_0"]), float(row["seed_1"])] == pytest.approx(seeds)
        assert float(row["mean"]) == pytest.approx(np.mean(seeds))
        assert f"{np.mean(seeds):.3f}" in text  # the same numbers as the printed table


def test_write_figures_say_which_seed_share_axes_and_add_a_timeline(tmp_path, monkeypatch):
    """The figures of the first seed, read from the artists (no image comparison)."""
    from matplotlib.figure import Figure

    from sklearn_wsvad.cli._reproduce import FIGURE_FILES, write_figures
    from sklearn_wsvad.datasets import make_wsvad_videos
    from sklearn_wsvad.refine import clip_norms

    data = make_wsvad_videos(12, n_features=4, min_clips=8, max_clips=20, random_state=0)
    rng = np.random.default_rng(0)
    names = ["Baseline", "Top3-Top3", "Bot7-Bot7", "Top3-Bot7", "Bot7-Top3"]
    scores = {name: [clip_norms(v) + rng.normal(0, 1, len(v)) for v in data.videos]
              for name in names}
    curves = {"frame_labels": data.frame_labels, "scores": scores, "seed": 0, "n_seeds": 3,
              "dataset": "synthetic", "regime": "paper"}
    saved = {}
    original = Figure.savefig

    def record(fig, path, **kwargs):
        saved[Path(path).name] = fig
        return original(fig, path, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    paths = write_figures(curves, tmp_path)
    assert [p.name for p in paths] == list(FIGURE_FILES)
    assert list(saved) == list(FIGURE_FILES)
    roc = saved["figure1_roc.png"].axes[0]
    assert "first seed (seed=0) of 3" in roc.get_title()
    assert "not expected to match the paper" in roc.get_title()
    assert len(roc.get_legend().get_texts()) == 5
    # Figure 2: a 2 x 3 grid, shared x and y, the sixth panel hidden
    hist = saved["figure2_score_histograms.png"]
    axes = hist.axes
    assert len(axes) == 6 and [ax.get_visible() for ax in axes].count(False) == 1
    shown = [ax for ax in axes if ax.get_visible()]
    assert all(shown[0].get_shared_x_axes().joined(shown[0], ax) for ax in shown)
    assert all(shown[0].get_shared_y_axes().joined(shown[0], ax) for ax in shown)
    assert [ax.get_title() for ax in shown] == names
    assert "not expected to match the paper" in hist.get_suptitle()
    # Figure 3: one abnormal test video, every configuration, its GT intervals shaded
    timeline = saved["figure3_timeline.png"].axes[0]
    i = int(timeline.get_title().split("test video ")[1].split()[0])
    labels = data.frame_labels[i]
    assert labels.any()
    n_intervals = int(np.count_nonzero(np.diff(np.r_[0, labels, 0]) == 1))
    assert len(timeline.patches) == n_intervals
    assert len(timeline.lines) == len(names)
    # on a benchmark, no synthetic-data caveat
    write_figures({**curves, "dataset": "ucf-crime"}, tmp_path)
    assert "paper" not in saved["figure1_roc.png"].axes[0].get_title()


@pytest.mark.parametrize("model", ["sultani", "rtfm", "ngmil", "bnwvad", "crossbatch"])
def test_reproduce_with_another_mil_classifier(model, tmp_path):
    out = io.StringIO()
    main(["reproduce", "--model", model, "--seeds", "1", "--n-videos", "40", "--n-features",
          "8", "--max-epochs", "1", "--n-clusters", "5", "--n-top", "2", "--quiet",
          "--output-dir", str(tmp_path)], stdout=out)
    text = out.getvalue()
    assert f"model={model}" in text and "| Bot3-Bot3" in text


def test_unknown_model_is_rejected():
    with pytest.raises(SystemExit):
        main(["reproduce", "--model", "nope"], stdout=io.StringIO())


def test_reproduce_on_a_benchmark_layout(benchmark_home, tmp_path):
    out = io.StringIO()
    main(["reproduce", "--dataset", "shanghaitech", "--data-home", str(benchmark_home),
          "--seeds", "1", "--max-epochs", "1", "--n-clusters", "4", "--n-top", "1",
          "--n-snippets", "4", "--quiet", "--output-dir", str(tmp_path)], stdout=out)
    text = out.getvalue()
    assert "dataset=shanghaitech" in text and "| Bot3-Bot3" in text
    # Table 1 counts the clips of the 238 training videos
    from sklearn_wsvad.datasets import load_shanghaitech

    train, _ = load_shanghaitech(benchmark_home)
    top = int(text.split("| Top1   |")[1].split("|")[0].replace(",", ""))
    bot = int(text.split("| Bot3   |")[1].split("|")[0].replace(",", ""))
    assert top + bot == train.n_clips[train.target == 0].sum()


def test_benchmark_without_data_home_or_files(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["reproduce", "--dataset", "ucf-crime"], stdout=io.StringIO())
    assert "pass --data-home" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["reproduce", "--dataset", "ucf-crime", "--data-home", str(tmp_path)],
             stdout=io.StringIO())
    assert "Nothing is downloaded" in capsys.readouterr().err


def test_core_experiment_differs_only_in_the_kept_clips():
    """Table 2's five pipelines share one feature scaling, fitted on every
    training clip before refinement, and cluster the unscaled norms."""
    import numpy as np

    from sklearn_wsvad.cli._reproduce import MODELS, core_experiment_pipelines
    from sklearn_wsvad.datasets import make_wsvad_regime
    from sklearn_wsvad.refine import ClipStandardScaler, FeatureNormClusterUndersampler

    train, _ = make_wsvad_regime("lower_norm", n_train=16, n_test=4, n_features=8,
                                 min_clips=20, max_clips=40, random_state=0)
    pipes = core_experiment_pipelines(MODELS["magnitude"], max_epochs=1, random_state=0)
    assert list(pipes) == ["Baseline", "Top3-Top3", "Bot7-Bot7", "Top3-Bot7", "Bot7-Top3"]
    reference = {k: repr(v) for k, v in pipes["Baseline"].get_params(deep=True).items()}
    for name, pipe in pipes.items():
        params = {k: repr(v) for k, v in pipe.get_params(deep=True).items()}
        assert params.keys() == reference.keys()
        # skorch's default callback objects are fresh instances (repr shows an address)
        differ = {k for k in params
                  if params[k] != reference[k] and not k.startswith("model__callbacks__")}
        assert differ <= {"undersample__normal_keep", "undersample__abnormal_keep",
                          "undersample", "steps"}, (name, differ)
    everything = ClipStandardScaler().fit(train.videos)
    kept = {}
    for name, pipe in pipes.items():
        pipe.fit(train.videos, train.target)
        scaler = pipe["undersample"].scaler_
        np.testing.assert_array_equal(scaler.mean_, everything.mean_)
        np.testing.assert_array_equal(scaler.scale_, everything.scale_)
        assert pipe["model"].input_mean_ is None  # no statistics of the kept clips
        kept[name] = pipe["undersample"].kept_indices_
    raw = FeatureNormClusterUndersampler().fit(train.videos, train.target)
    for a, b in zip(raw.kept_indices_, kept["Bot7-Bot7"]):
        np.testing.assert_array_equal(a, b)
    assert any(len(a) != len(b) for a, b in zip(kept["Top3-Top3"], kept["Bot7-Bot7"]))


def test_reproduce_on_a_regime(tmp_path):
    out = io.StringIO()
    main(["reproduce", "--regime", "lower_norm", "--seeds", "1", "--n-videos", "20",
          "--n-features", "8", "--max-epochs", "1", "--quiet", "--output-dir",
          str(tmp_path)], stdout=out)
    text = out.getvalue()
    assert "regime=lower_norm" in text and "| Feature norm |" in text
    norm_auc = float(text.split("| Feature norm |")[1].split("±")[0])
    assert norm_auc < 0.5  # this regime's anomalies have the smaller norms


@pytest.mark.slow
def test_xd_violence_table_reports_the_published_trapezoid_ap(benchmark_home, tmp_path):
    from sklearn_wsvad.cli._reproduce import format_table2, reproduce
    from sklearn_wsvad.datasets import load_xd_violence
    from sklearn_wsvad.metrics import frame_average_precision_score
    from sklearn_wsvad.refine import clip_norms

    result = reproduce(model="magnitude", n_seeds=1, max_epochs=1, n_clusters=4, n_top=1,
                       n_snippets=4, dataset="xd-violence", data_home=benchmark_home,
                       progress=False)
    _, test = load_xd_violence(benchmark_home)
    norms = [clip_norms(v) for v in test.videos]
    expected = frame_average_precision_score(test.frame_labels, norms, method="trapezoid")
    assert result["reference"]["Feature norm"]["AP_O"] == [pytest.approx(expected, rel=1e-12)]
    assert all("AP_O" in row for row in result["table2"].values())
    assert "AP (trapezoid, as published)" in format_table2(result["table2"], 1)
    # the other benchmarks keep the AUC / EER table
    other = reproduce(model="magnitude", n_seeds=1, max_epochs=1, n_clusters=4, n_top=1,
                      n_snippets=4, n_videos=20, n_features=4, progress=False)
    assert "AP_O" not in other["reference"]["Feature norm"]


def test_reproduce_the_multi_crop_protocol(benchmark_home, tmp_path):
    out = io.StringIO()
    main(["reproduce", "--dataset", "shanghaitech", "--data-home", str(benchmark_home),
          "--crops", "stack", "--model", "rtfm", "--seeds", "1", "--max-epochs", "1",
          "--n-clusters", "4", "--n-top", "1", "--n-snippets", "4", "--quiet",
          "--output-dir", str(tmp_path)], stdout=out)
    assert "model=rtfm" in out.getvalue() and "| Bot3-Bot3" in out.getvalue()


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "ucf-crime", "--data-home", ".", "--crops", "stack"], "--model rtfm or"),
    (["--crops", "first"], "synthetic videos have no crops"),
])
def test_crops_option_is_checked(argv, message, capsys):
    with pytest.raises(SystemExit):
        main(["reproduce", *argv], stdout=io.StringIO())
    assert message in capsys.readouterr().err


def test_reproduce_vadclip_adds_the_fine_grained_table(tmp_path, monkeypatch):
    from sklearn_wsvad.cli._reproduce import FINE_METRICS, reproduce
    from sklearn_wsvad.models import VadCLIPDetector

    seen = []
    fit = VadCLIPDetector.fit

    def recording_fit(self, X, y, video_classes=None):
        seen.append(video_classes)
        return fit(self, X, y, video_classes=video_classes)

    monkeypatch.setattr(VadCLIPDetector, "fit", recording_fit)

    out = io.StringIO()
    code = main(["reproduce", "--model", "vadclip", "--seeds", "1", "--n-videos", "40",
                 "--n-features", "32", "--max-epochs", "1", "--n-clusters", "4", "--n-top",
                 "1", "--quiet", "--output-dir", str(tmp_path)], stdout=out)
    text = out.getvalue()
    assert code == 0 and "dataset=synthetic-clip, regime=aligned" in text
    assert "Table 3" in text and "| Text cosine" in text and "mAP@0.5" in text
    import sklearn
    with sklearn.config_context(enable_metadata_routing=True):  # as the README sets it
        result = reproduce(model="vadclip", n_seeds=1, n_videos=40, n_features=32,
                           max_epochs=1, n_clusters=4, n_top=1, regime="misaligned",
                           progress=False)
    table3 = result["table3"]
    assert set(table3) == {"Baseline", "Top1-Top1", "Bot3-Bot3", "Top1-Bot3", "Bot3-Top1",
                           "Text cosine"}
    for row in table3.values():
        assert list(row) == list(FINE_METRICS)
        values = [v[0] for v in row.values()]
        assert all(0 <= v <= 1 for v in values)
        assert row["mAP_avg"][0] == pytest.approx(sum(values[2:7]) / 5)
    assert result["table2"]["Baseline"]["AUC_O"][0] == pytest.approx(
        table3["Baseline"]["AUC_O"][0])  # the same coarse scores in both tables
    # every fit got the training videos' classes (24 of the 40 videos, 7 classes)
    assert len(seen) == 10 and all(c is not None and c.shape == (24, 7) for c in seen)


def test_reproduce_dsanet_gets_classes_and_adds_the_fine_grained_table(tmp_path, monkeypatch):
    from sklearn_wsvad.models import DSANetDetector

    seen = []
    fit = DSANetDetector.fit

    def recording_fit(self, X, y, video_classes=None):
        seen.append((video_classes, self.decoder_depth))
        return fit(self, X, y, video_classes=video_classes)

    monkeypatch.setattr(DSANetDetector, "fit", recording_fit)
    out = io.StringIO()
    code = main(["reproduce", "--model", "dsanet", "--seeds", "1", "--n-videos", "40",
                 "--n-features", "32", "--max-epochs", "1", "--n-clusters", "4", "--n-top",
                 "1", "--quiet", "--output-dir", str(tmp_path)], stdout=out)
    text = out.getvalue()
    assert code == 0 and "dataset=synthetic-clip, regime=aligned" in text
    assert "Table 3" in text and "| Top1-Bot3" in text
    assert len(seen) == 5 and all(c.shape == (24, 7) and depth == 2 for c, depth in seen)


def test_reproduce_cliptsa_on_clip_like_data(tmp_path):
    out = io.StringIO()
    main(["reproduce", "--model", "cliptsa", "--dataset", "synthetic-clip", "--regime",
          "misaligned", "--seeds", "1", "--n-videos", "40", "--n-features", "32",
          "--max-epochs", "1", "--n-clusters", "4", "--n-top", "1", "--quiet", "--output-dir",
          str(tmp_path)], stdout=out)
    text = out.getvalue()
    assert "regime=misaligned" in text and "| Bot3-Top1" in text and "Table 3" not in text


@pytest.mark.parametrize("argv, message", [
    (["--model", "vadclip", "--dataset", "synthetic"], "use --dataset synthetic-clip"),
    (["--model", "dsanet", "--dataset", "synthetic"], "use --dataset synthetic-clip"),
    (["--regime", "aligned"], "not a regime of --dataset synthetic"),
    (["--dataset", "synthetic-clip", "--regime", "paper"], "choose one of aligned"),
])
def test_clip_options_are_checked(argv, message, capsys):
    with pytest.raises(SystemExit):
        main(["reproduce", *argv], stdout=io.StringIO())
    assert message in capsys.readouterr().err


def test_too_few_clip_videos_for_the_split_is_named():
    from sklearn_wsvad.cli._reproduce import reproduce

    with pytest.raises(ValueError, match="too few for a split stratified by the 7 classes"):
        reproduce(model="vadclip", n_seeds=1, n_videos=12, n_features=32, max_epochs=1,
                  progress=False)


@pytest.mark.parametrize("argv, message", [
    (["--seeds", "0"], "--seeds 0: expected at least 1"),
    (["--n-videos", "3"], "--n-videos 3: expected at least 10"),
    (["--n-top", "10"], "--n-top 10: expected between 1 and --n-clusters - 1 (9)"),
    (["--n-clusters", "1"], "--n-clusters 1: expected at least 2"),
    (["--max-epochs", "-1"], "--max-epochs -1: expected at least 1"),
    (["--n-features", "0"], "--n-features 0: expected at least 2"),
    (["--threads", "0"], "expected a positive number, -1 (all CPUs) or auto; got '0'"),
    (["--threads", "many"], "expected a positive number, -1 (all CPUs) or auto; got 'many'"),
])
def test_numbers_out_of_range_are_one_line_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["reproduce", *argv], stdout=io.StringIO())
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cuda_without_cuda_and_library_errors_are_one_line(capsys):
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(SystemExit):
            main(["reproduce", "--device", "cuda"], stdout=io.StringIO())
        assert "--device cuda: torch" in capsys.readouterr().err
    # a ValueError of the library (too few videos for the class-stratified split)
    with pytest.raises(SystemExit) as exit_info:
        main(["reproduce", "--model", "vadclip", "--n-videos", "12", "--seeds", "1",
              "--max-epochs", "1", "--quiet"], stdout=io.StringIO())
    assert exit_info.value.code == 2
    assert "wsvad reproduce: error: n_videos=12 is too few" in capsys.readouterr().err


def test_version(capsys):
    from sklearn_wsvad import __version__

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"wsvad {__version__}"


@pytest.mark.parametrize("flag, expected", [([], "auto"), (["--threads", "1"], 1),
                                            (["--threads", "-1"], -1)])
def test_threads_reach_every_model_with_their_bars_off(flag, expected, monkeypatch, tmp_path):
    import sklearn_wsvad.cli._reproduce as rep

    seen = []
    original = rep.core_experiment_pipelines

    def spy(*args, **kwargs):
        seen.append((kwargs["n_threads"], kwargs["progress_bar"]))
        return original(*args, **kwargs)

    monkeypatch.setattr(rep, "core_experiment_pipelines", spy)
    main(["reproduce", "--seeds", "1", "--n-videos", "20", "--n-features", "8",
          "--max-epochs", "1", "--quiet", "--output-dir", str(tmp_path), *flag],
         stdout=io.StringIO())
    assert seen == [(expected, False)]
