"""Rerun the core paper's experiments (Tables 1-2, Figures 1-2) on synthetic data."""

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.pipeline import Pipeline
from tqdm.auto import tqdm

from ..datasets import (
    REGIMES,
    load_shanghaitech,
    load_ucf_crime,
    load_xd_violence,
    make_wsvad_regime,
)
from ..metrics import (
    frame_average_precision_score,
    frame_equal_error_rate,
    frame_roc_auc_score,
    score_clips,
)
from ..refine import (
    ClipStandardScaler,
    FeatureNormClusterUndersampler,
    SnippetReformer,
    clip_norms,
    majority_minority_counts,
)

logger = logging.getLogger(__name__)


def models_module():
    """:mod:`sklearn_wsvad.models`, imported on first use (it imports torch)."""
    from .. import models

    return models

METRICS = ("AUC_O", "EER_O", "AUC_A", "EER_A")
#: XD-Violence is judged by AP: its table adds the published (trapezoid) form.
XD_METRICS = (*METRICS, "AP_O")


@dataclass(frozen=True)
class ModelSpec:
    """A model selectable with ``--model``, and its canonical pipeline.

    ``estimator`` names a class of :mod:`sklearn_wsvad.models`;
    ``inference`` is the :class:`SnippetReformer` test protocol the method
    was published with ("clips": score every clip; "snippets": every clip
    gets its segment's score); ``n_snippets`` the training snippets per
    video (BN-WVAD: 200); ``reproduce_params`` what ``wsvad reproduce``
    changes from the defaults to stay within minutes on a CPU;
    ``boundaries`` the snippet rule of the method's official code
    (:func:`~sklearn_wsvad.refine.snippet_bounds`).
    """

    estimator: str
    inference: str = "clips"
    n_snippets: int = 32
    reproduce_params: tuple = ()
    boundaries: str = "round"

    def build(self, **params):
        """An unfitted estimator with ``params`` over its defaults."""
        from .. import models

        return getattr(models, self.estimator)(**params)

    def pipeline(self, model, undersampler=None, n_snippets=None):
        """``undersampler`` (default settings if None), the model's reformer
        (``n_snippets`` if given), then ``model``."""
        return Pipeline([
            ("undersample", undersampler or FeatureNormClusterUndersampler()),
            ("snippets", SnippetReformer(n_snippets=n_snippets or self.n_snippets,
                                         boundaries=self.boundaries,
                                         inference=self.inference)),
            ("model", model),
        ])


#: Models selectable with ``--model``.
MODELS = {
    "magnitude": ModelSpec("MagnitudeMILDetector"),
    "sultani": ModelSpec("MILRankingDetector", inference="snippets", boundaries="sultani"),
    "rtfm": ModelSpec("RTFMDetector", boundaries="floor"),
    "ngmil": ModelSpec("NGMILDetector"),
    "bnwvad": ModelSpec("BNWVADDetector", n_snippets=200, boundaries="floor"),
    "crossbatch": ModelSpec("CrossBatchClusteringDetector"),
    "cliptsa": ModelSpec("CLIPTSADetector", boundaries="floor"),
}


#: Data selectable with ``--dataset``: the synthetic generator or a benchmark
#: loader ``load(data_home, crops=)`` returning the train and test Bunches.
DATASETS = {
    "synthetic": None,
    "ucf-crime": load_ucf_crime,
    "shanghaitech": load_shanghaitech,
    "xd-violence": load_xd_violence,
}


def configurations(n_clusters, n_top):
    """The paper's data configurations: (name, normal_keep, abnormal_keep)."""
    top, bot = f"Top{n_top}", f"Bot{n_clusters - n_top}"
    return [
        ("Baseline", "all", "all"),
        (f"{top}-{top}", "top", "top"),
        (f"{bot}-{bot}", "bottom", "bottom"),
        (f"{top}-{bot}", "top", "bottom"),
        (f"{bot}-{top}", "bottom", "top"),
    ]


def core_experiment_pipelines(spec, n_clusters=10, n_top=3, n_snippets=None, **model_params):
    """The five pipelines of Table 2, identical but for the clips kept in training.

    Each is ``FeatureNormClusterUndersampler(scaler=ClipStandardScaler())``,
    the model's :class:`SnippetReformer` and the model with
    ``input_scaling=None``: the scaling is fitted on every training clip
    before refinement (the same for all five), and the norms are clustered on
    the unscaled features, as in the paper. A model's own input scaling, or a
    scaler after the undersampler, would be fitted on the kept clips and
    change with the configuration.

    Parameters
    ----------
    spec : ModelSpec
    n_clusters, n_top : int
    n_snippets : int or None
        Training snippets per video; None for the model's own.
    **model_params
        Passed to the model (e.g. ``max_epochs``, ``random_state``).

    Returns
    -------
    pipelines : dict
        Configuration name -> unfitted :class:`~sklearn.pipeline.Pipeline`.
    """
    pipelines = {}
    for name, normal_keep, abnormal_keep in configurations(n_clusters, n_top):
        undersampler = FeatureNormClusterUndersampler(
            n_clusters=n_clusters, n_top=n_top, normal_keep=normal_keep,
            abnormal_keep=abnormal_keep, scaler=ClipStandardScaler())
        model = spec.build(**{**dict(spec.reproduce_params), **model_params,
                              "input_scaling": None})
        pipelines[name] = spec.pipeline(model, undersampler, n_snippets=n_snippets)
    return pipelines


def _frame_metrics(frame_labels, scores, metrics=METRICS):
    out = {
        "AUC_O": frame_roc_auc_score(frame_labels, scores),
        "EER_O": frame_equal_error_rate(frame_labels, scores),
        "AUC_A": frame_roc_auc_score(frame_labels, scores, abnormal_only=True),
        "EER_A": frame_equal_error_rate(frame_labels, scores, abnormal_only=True),
    }
    if "AP_O" in metrics:
        # the form published XD-Violence numbers use: auc(recall, precision)
        out["AP_O"] = frame_average_precision_score(frame_labels, scores, method="trapezoid")
    return out


def reproduce(
    *,
    model="magnitude",
    n_seeds=3,
    n_videos=300,
    n_features=64,
    test_size=0.4,
    n_clusters=10,
    n_top=3,
    n_snippets=None,
    max_epochs=30,
    device="cpu",
    dataset="synthetic",
    regime="paper",
    data_home=None,
    crops="mean",
    progress=True,
):
    """Run Table 1 and Table 2 of the core paper on synthetic or real features.

    With ``dataset="synthetic"``, for each seed the training and test videos
    of ``regime`` are generated (:func:`~sklearn_wsvad.datasets.make_wsvad_regime`:
    ``"paper"`` builds the paper's hypothesis in, the other regimes do not).
    With a benchmark (``"ucf-crime"``, ``"shanghaitech"``, ``"xd-violence"``),
    its released train and test splits are read from ``data_home`` (see
    :mod:`sklearn_wsvad.datasets`) and the seeds vary the model only. Table 1
    counts the training clips in the Top-n and remaining clusters (first
    seed). Table 2 trains the same model on each data configuration
    (:func:`core_experiment_pipelines`: only the kept training clips differ)
    and scores every test clip; the raw feature norm of each clip is scored
    alongside, as the reference a trained model must beat.

    ``crops`` is how a benchmark's multi-crop features are loaded: averaged
    (``"mean"``), the centre crop (``"first"``) or stacked (``"stack"``, the
    official 10-crop / 5-crop protocol, for ``"rtfm"`` and ``"bnwvad"``: the
    refinement keeps the crops together and a clip's score is the mean over
    its crops).

    Returns
    -------
    result : dict
        ``table1`` (counts), ``table2`` (name -> metric -> list over seeds),
        ``reference`` (the same for the raw feature norm), ``curves`` (test
        frame labels and per-configuration clip scores of the first seed, for
        the figures) and ``settings``.
    """
    if model not in MODELS:
        raise ValueError(f"Unknown model {model!r}; choose one of {sorted(MODELS)}.")
    if dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}; choose one of {sorted(DATASETS)}.")
    if regime not in REGIMES:
        raise ValueError(f"Unknown regime {regime!r}; choose one of {sorted(REGIMES)}.")
    if dataset == "synthetic" and crops != "mean":
        raise ValueError("crops= applies to the benchmark datasets; synthetic videos are 2-D.")
    if crops == "stack" and not getattr(models_module(), MODELS[model].estimator)._accepts_crops:
        raise ValueError(
            f"crops='stack' keeps the crop axis, which model={model!r} does not take; use "
            "model='rtfm' or 'bnwvad', or crops='mean'."
        )
    if dataset != "synthetic":
        if data_home is None:
            raise ValueError(f"dataset={dataset!r} reads local files: pass data_home.")
        train, test = DATASETS[dataset](data_home, crops=crops)
    spec = MODELS[model]
    names = [name for name, _, _ in configurations(n_clusters, n_top)]
    metrics = XD_METRICS if dataset == "xd-violence" else METRICS
    table2 = {name: {m: [] for m in metrics} for name in names}
    reference = {"Feature norm": {m: [] for m in metrics}}
    table1, curves = None, None
    bar = tqdm(total=n_seeds * len(names), desc="wsvad reproduce", disable=not progress,
               unit="fit")
    for seed in range(n_seeds):
        if dataset == "synthetic":
            n_test = int(round(test_size * n_videos))
            train, test = make_wsvad_regime(regime, n_train=n_videos - n_test, n_test=n_test,
                                            n_features=n_features, random_state=seed)
        X_tr, y_tr, X_te, f_te = train.videos, train.target, test.videos, test.frame_labels
        if table1 is None:
            sampler = FeatureNormClusterUndersampler(n_clusters=n_clusters, n_top=n_top)
            table1 = majority_minority_counts(sampler.fit(X_tr, y_tr), y_tr)
            curves = {"frame_labels": f_te, "scores": {}}
        norms = [clip_norms(v) for v in X_te]
        for m, value in _frame_metrics(f_te, norms, metrics).items():
            reference["Feature norm"][m].append(value)
        pipelines = core_experiment_pipelines(
            spec, n_clusters, n_top, n_snippets, max_epochs=max_epochs, device=device,
            random_state=seed)
        for name, pipe in pipelines.items():
            bar.set_postfix_str(f"seed {seed} {name}")
            pipe.fit(X_tr, y_tr)
            scores = score_clips(pipe, X_te)
            for m, value in _frame_metrics(f_te, scores, metrics).items():
                table2[name][m].append(value)
            logger.info("seed %d %s: %s", seed, name, {k: v[-1] for k, v in table2[name].items()})
            if seed == 0:
                curves["scores"][name] = scores
            bar.update()
    bar.close()
    settings = dict(model=model, dataset=dataset, regime=regime, n_seeds=n_seeds,
                    n_videos=n_videos, n_features=n_features, n_clusters=n_clusters,
                    n_top=n_top, n_snippets=n_snippets or spec.n_snippets,
                    max_epochs=max_epochs)
    return {"table1": table1, "table2": table2, "reference": reference, "curves": curves,
            "settings": settings}


def format_table1(table1, n_clusters, n_top):
    top, bot = f"Top{n_top}", f"Bot{n_clusters - n_top}"
    lines = [
        f"Table 1: training clips in the {top} and {bot} feature-norm clusters (seed 0)",
        f"| {'Item':<6} | {'Normal videos (clips)':>22} | {'Abnormal videos (clips)':>24} |",
        f"|{'-' * 8}|{'-' * 24}|{'-' * 26}|",
    ]
    for label, key in ((top, "top"), (bot, "bottom")):
        lines.append(f"| {label:<6} | {table1['normal'][key]:>22,} | "
                     f"{table1['abnormal'][key]:>24,} |")
    return "\n".join(lines)


def format_table2(table2, n_seeds, reference=None):
    """Table 2 as text; ``reference`` rows (e.g. the feature norm) come last."""
    metrics = list(next(iter(table2.values())))
    header = "| Item         | " + " | ".join(f"{m:^15}" for m in metrics) + " |"
    rule = "|" + "-" * 14 + ("|" + "-" * 17) * len(metrics) + "|"
    title = "AUC / EER" + (" / AP (trapezoid, as published)" if "AP_O" in metrics else "")
    lines = [f"Table 2: frame-level {title}, mean ± std over {n_seeds} seed(s)", header, rule]

    def row(name, values):
        cells = [f"{np.mean(values[m]):.3f} ± {np.std(values[m]):.3f}" for m in metrics]
        return f"| {name:<12} | " + " | ".join(f"{c:^15}" for c in cells) + " |"

    lines += [row(name, values) for name, values in table2.items()]
    if reference:
        lines += [rule] + [row(name, values) for name, values in reference.items()]
    return "\n".join(lines)


def write_figures(curves, output_dir):
    """Write Figure 1 (ROC curves) and Figure 2 (score histograms) as PNG files."""
    from matplotlib.figure import Figure

    from ..plotting import plot_frame_roc, plot_score_histograms

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(6, 5), layout="constrained")
    plot_frame_roc(curves["frame_labels"], curves["scores"], ax=fig.add_subplot())
    roc_path = output_dir / "figure1_roc.png"
    fig.savefig(roc_path, dpi=120)

    n = len(curves["scores"])
    fig = Figure(figsize=(4 * n, 3.5), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    plot_score_histograms(curves["frame_labels"], curves["scores"], axes=list(axes))
    hist_path = output_dir / "figure2_score_histograms.png"
    fig.savefig(hist_path, dpi=120)
    return roc_path, hist_path
