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
    make_wsvad_clip_videos,
    make_wsvad_regime,
)
from ..metrics import (
    detection_map,
    frame_average_precision_score,
    frame_equal_error_rate,
    frame_roc_auc_score,
    predict_proba_clips,
    score_clips,
)
from ..metrics._detection import IOU_THRESHOLDS
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
    (:func:`~sklearn_wsvad.refine.snippet_bounds`); ``vision_language``
    marks a model that takes the class text embeddings and the videos'
    classes (CLIP features are used unscaled, the classes passed to its
    ``fit``, and the fine-grained table is computed).
    """

    estimator: str
    inference: str = "clips"
    n_snippets: int = 32
    reproduce_params: tuple = ()
    boundaries: str = "round"
    vision_language: bool = False

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
    "vadclip": ModelSpec("VadCLIPDetector", boundaries="floor", vision_language=True),
    "dsanet": ModelSpec("DSANetDetector", boundaries="floor", vision_language=True,
                        reproduce_params=(("decoder_depth", 2),)),
}


#: Data selectable with ``--dataset``: the synthetic generator or a benchmark
#: loader ``load(data_home, crops=)`` returning the train and test Bunches.
DATASETS = {
    "synthetic": None,
    "synthetic-clip": None,
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
    change with the configuration. A vision-language model
    (``spec.vision_language``) gets the features unscaled: it compares them
    with text embeddings by cosine.

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
            abnormal_keep=abnormal_keep,
            scaler=None if spec.vision_language else ClipStandardScaler())
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
    n_features=None,
    test_size=0.4,
    n_clusters=10,
    n_top=3,
    n_snippets=None,
    max_epochs=30,
    device="cpu",
    dataset=None,
    regime=None,
    data_home=None,
    crops="mean",
    progress=True,
    n_threads="auto",
):
    """Run Tables 1 and 2 of the core paper (and Table 3 for VadCLIP and DSANet) on
    synthetic or real features.

    With ``dataset="synthetic"``, for each seed the training and test videos
    of ``regime`` are generated (:func:`~sklearn_wsvad.datasets.make_wsvad_regime`:
    ``"paper"`` builds the paper's hypothesis in, the other regimes do not).
    With ``dataset="synthetic-clip"``, CLIP-like videos with anomaly classes
    and class text embeddings
    (:func:`~sklearn_wsvad.datasets.make_wsvad_clip_videos`, ``regime``
    ``"aligned"`` or ``"misaligned"``, 512 features by default) are split
    by class, ``test_size`` for testing; a vision-language model
    (``"vadclip"``, ``"dsanet"``; DSANet with a 2-block SG-NM decoder, with
    the official 8 an epoch takes about twice as long on a CPU) gets the text
    embeddings and the training videos'
    classes and adds Table 3 (coarse AUC / AP and mAP@IoU 0.1-0.5 of each
    configuration, with the zero-shot text cosine as reference).
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

    ``n_threads`` is every model's ``n_threads`` (CPU threads per fit; the
    default ``"auto"`` takes half the CPUs). The models' own progress bars
    are off: ``progress`` shows one bar over the whole run.

    Returns
    -------
    result : dict
        ``table1`` (counts), ``table2`` (name -> metric -> list over seeds),
        ``reference`` (the same for the raw feature norm), ``curves`` (test
        frame labels and per-configuration, per-video clip scores of the
        first seed, ``seed=0``, with that seed, ``n_seeds``, ``dataset`` and
        ``regime``, for the figures), ``table3`` (name -> metric -> list over
        seeds, or None for a model without classes) and ``settings``.

    Notes
    -----
    On synthetic data the numbers test the mechanism, not the paper: they are
    not expected to match the published UCF-Crime / ShanghaiTech /
    XD-Violence numbers (the figures say so in their titles).
    """
    if model not in MODELS:
        raise ValueError(f"Unknown model {model!r}; choose one of {sorted(MODELS)}.")
    spec = MODELS[model]
    if dataset is None:
        dataset = "synthetic-clip" if spec.vision_language else "synthetic"
    if dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}; choose one of {sorted(DATASETS)}.")
    clip_data = dataset == "synthetic-clip"
    if regime is None:
        regime = "aligned" if clip_data else "paper"
    regimes = CLIP_REGIMES if clip_data else REGIMES
    if DATASETS[dataset] is None and regime not in regimes:
        raise ValueError(f"Unknown regime {regime!r} for dataset={dataset!r}; choose one of "
                         f"{sorted(regimes)}.")
    if spec.vision_language and not clip_data:
        raise ValueError(
            f"model={model!r} needs class text embeddings and the videos' classes: use "
            "dataset='synthetic-clip' (the benchmarks' text embeddings are the user's to "
            "give; see VadCLIPDetector)."
        )
    if dataset not in ("ucf-crime", "shanghaitech", "xd-violence") and crops != "mean":
        raise ValueError("crops= applies to the benchmark datasets; synthetic videos are 2-D.")
    if crops == "stack" and not getattr(models_module(), spec.estimator)._accepts_crops:
        raise ValueError(
            f"crops='stack' keeps the crop axis, which model={model!r} does not take; use "
            "model='rtfm' or 'bnwvad', or crops='mean'."
        )
    if DATASETS[dataset] is not None:
        if data_home is None:
            raise ValueError(f"dataset={dataset!r} reads local files: pass data_home.")
        train, test = DATASETS[dataset](data_home, crops=crops)
    if n_features is None:
        n_features = 512 if clip_data else 64
    names = [name for name, _, _ in configurations(n_clusters, n_top)]
    metrics = XD_METRICS if dataset == "xd-violence" else METRICS
    table2 = {name: {m: [] for m in metrics} for name in names}
    reference = {"Feature norm": {m: [] for m in metrics}}
    table3 = ({name: {m: [] for m in FINE_METRICS} for name in [*names, "Text cosine"]}
              if spec.vision_language else None)
    table1, curves = None, None
    bar = tqdm(total=n_seeds * len(names), desc="wsvad reproduce", disable=not progress,
               unit="fit")
    for seed in range(n_seeds):
        fit_params = {}
        if clip_data:
            train, test = _clip_split(n_videos, test_size, n_features, regime, seed)
            if spec.vision_language:
                fit_params = {"model__video_classes": train.video_classes}
        elif dataset == "synthetic":
            n_test = int(round(test_size * n_videos))
            train, test = make_wsvad_regime(regime, n_train=n_videos - n_test, n_test=n_test,
                                            n_features=n_features, random_state=seed)
        X_tr, y_tr, X_te, f_te = train.videos, train.target, test.videos, test.frame_labels
        if table1 is None:
            sampler = FeatureNormClusterUndersampler(n_clusters=n_clusters, n_top=n_top)
            table1 = majority_minority_counts(sampler.fit(X_tr, y_tr), y_tr)
            curves = {"frame_labels": f_te, "scores": {}, "seed": seed, "n_seeds": n_seeds,
                      "dataset": dataset, "regime": regime}
        norms = [clip_norms(v) for v in X_te]
        for m, value in _frame_metrics(f_te, norms, metrics).items():
            reference["Feature norm"][m].append(value)
        extra = {"text_embeddings": train.text_embeddings} if spec.vision_language else {}
        pipelines = core_experiment_pipelines(
            spec, n_clusters, n_top, n_snippets, max_epochs=max_epochs, device=device,
            n_threads=n_threads, progress_bar=False, random_state=seed, **extra)
        if table3 is not None:
            proba = _text_cosine(X_te, train.text_embeddings)
            _fine_metrics(table3["Text cosine"], f_te, [1 - p[:, 0] for p in proba],
                          test.segments, proba)
        for name, pipe in pipelines.items():
            bar.set_postfix_str(f"seed {seed} {name}")
            with _routing_off():
                pipe.fit(X_tr, y_tr, **fit_params)
            scores = score_clips(pipe, X_te)
            for m, value in _frame_metrics(f_te, scores, metrics).items():
                table2[name][m].append(value)
            if table3 is not None:
                _fine_metrics(table3[name], f_te, scores, test.segments,
                              predict_proba_clips(pipe, X_te))
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
            "table3": table3, "settings": settings}


#: Regimes of ``dataset="synthetic-clip"`` (:func:`~sklearn_wsvad.datasets.make_wsvad_clip_videos`).
CLIP_REGIMES = ("aligned", "misaligned")
#: Columns of the fine-grained table.
FINE_METRICS = ("AUC_O", "AP_O", *(f"mAP@{t:.1f}" for t in IOU_THRESHOLDS), "mAP_avg")


def _clip_split(n_videos, test_size, n_features, regime, seed):
    """CLIP-like videos of one seed, split into training and test Bunches
    (stratified by class)."""
    from sklearn.model_selection import train_test_split
    from sklearn.utils import Bunch

    data = make_wsvad_clip_videos(n_videos, n_features=n_features, regime=regime,
                                  random_state=seed)
    counts = data.video_classes.argmax(axis=1)
    smallest, n_classes = np.bincount(counts).min(), counts.max() + 1
    n_test = int(np.ceil(test_size * n_videos))
    if smallest < 2 or min(n_test, n_videos - n_test) < n_classes:
        raise ValueError(
            f"n_videos={n_videos} is too few for a split stratified by the {n_classes} "
            f"classes (the smallest has {smallest} video(s); each split needs one video "
            "of every class): use more videos, e.g. 60."
        )
    index = np.arange(n_videos)
    train, test = train_test_split(index, test_size=test_size, random_state=seed,
                                   stratify=counts)

    def part(rows):
        return Bunch(videos=[data.videos[i] for i in rows], target=data.target[rows],
                     frame_labels=[data.frame_labels[i] for i in rows],
                     clip_labels=[data.clip_labels[i] for i in rows],
                     video_classes=data.video_classes[rows],
                     segments=[data.segments[i] for i in rows],
                     text_embeddings=data.text_embeddings)

    return part(train), part(test)


def _text_cosine(videos, text, temperature=0.07):
    """Zero-shot class probabilities: softmax of cos(clip, class text) / temperature."""
    def unit(a):
        return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)

    text = unit(np.asarray(text, dtype=np.float64))
    out = []
    for v in videos:
        z = unit(np.asarray(v, dtype=np.float64)) @ text.T / temperature
        z = np.exp(z - z.max(axis=1, keepdims=True))
        out.append(z / z.sum(axis=1, keepdims=True))
    return out


def _fine_metrics(row, frame_labels, scores, segments, proba):
    row["AUC_O"].append(frame_roc_auc_score(frame_labels, scores))
    row["AP_O"].append(frame_average_precision_score(frame_labels, scores))
    maps = detection_map(segments, proba)
    for t, value in zip(IOU_THRESHOLDS, maps):
        row[f"mAP@{t:.1f}"].append(value)
    row["mAP_avg"].append(float(np.mean(maps)))


class _routing_off:
    """Fit a Pipeline with ``step__param`` fit parameters whatever the global
    metadata-routing setting (the legacy route needs routing off)."""

    def __enter__(self):
        import sklearn

        self._context = sklearn.config_context(enable_metadata_routing=False)
        self._context.__enter__()

    def __exit__(self, *exc):
        return self._context.__exit__(*exc)


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


def format_table3(table3, n_seeds):
    """The fine-grained table (vision-language models) as text."""
    metrics = list(next(iter(table3.values())))
    header = "| Item         | " + " | ".join(f"{m:^13}" for m in metrics) + " |"
    rule = "|" + "-" * 14 + ("|" + "-" * 15) * len(metrics) + "|"
    lines = [f"Table 3: coarse frame AUC / AP and fine-grained mAP@IoU, mean ± std over "
             f"{n_seeds} seed(s); Text cosine: zero-shot, no training", header, rule]
    for name, values in table3.items():
        if name == "Text cosine":
            lines.append(rule)
        cells = [f"{np.mean(values[m]):.3f} ± {np.std(values[m]):.3f}" for m in metrics]
        lines.append(f"| {name:<12} | " + " | ".join(f"{c:^13}" for c in cells) + " |")
    return "\n".join(lines)


def _plain(value):
    """``value`` with numpy numbers and arrays as Python floats, ints and lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def write_tables(result, output_dir):
    """Write the tables as ``tables.json`` (every seed's value, with the
    settings) and ``table2.csv`` / ``table3.csv`` (per configuration and
    metric: mean, standard deviation and each seed's value). Returns the
    paths written."""
    import csv
    import json

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    keys = ("settings", "table1", "table2", "reference", "table3")
    paths = [output_dir / "tables.json"]
    paths[0].write_text(json.dumps({k: _plain(result.get(k)) for k in keys}, indent=2))
    tables = {"table2": {**result["table2"], **(result.get("reference") or {})},
              "table3": result.get("table3")}
    for name, table in tables.items():
        if not table:
            continue
        n_seeds = max(len(v) for row in table.values() for v in row.values())
        path = output_dir / f"{name}.csv"
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["configuration", "metric", "mean", "std",
                             *(f"seed_{i}" for i in range(n_seeds))])
            for config, row in table.items():
                for metric, values in row.items():
                    values = [float(v) for v in values]
                    writer.writerow([config, metric, np.mean(values), np.std(values), *values])
        paths.append(path)
    return paths


#: File names of the figures :func:`write_figures` writes, in order.
FIGURE_FILES = ("figure1_roc.png", "figure2_score_histograms.png", "figure3_timeline.png")


def _figure_caveat(curves):
    """The line that tells synthetic results from the paper's, or ''."""
    dataset = curves.get("dataset", "synthetic")
    if dataset not in ("synthetic", "synthetic-clip"):
        return ""
    regime = curves.get("regime")
    return (f"Synthetic data ({dataset}" + (f", regime={regime}" if regime else "")
            + "): not expected to match the paper's numbers")


def write_figures(curves, output_dir):
    """Write Figures 1 to 3 of the first seed's test videos as PNG files.

    Figure 1: the frame-level ROC curve of each configuration, its AUC and
    EER in the legend and the EER marked (first seed only: the tables are
    means over every seed). Figure 2: histograms of the frame scores of
    normal and abnormal frames, one panel per configuration on a grid with
    shared axes, so that the shift between configurations can be read.
    Figure 3 (``figure3_timeline.png``): one abnormal test video, every
    configuration's scores over its frames, the ground truth shaded. On
    synthetic data the titles say the numbers are not expected to match the
    paper's.

    Parameters
    ----------
    curves : dict
        ``result["curves"]`` of :func:`reproduce`: ``frame_labels``,
        ``scores`` (configuration -> per-video clip scores) and optionally
        ``seed``, ``n_seeds``, ``dataset`` and ``regime``.
    output_dir : str or Path
        Folder of the PNG files, created if missing.

    Returns
    -------
    roc_path, hist_path, timeline_path : Path
        Figures 1 to 3 (``timeline_path`` None when no test video is
        abnormal; see :func:`write_timeline_figure`).
    """
    from matplotlib.figure import Figure

    from ..plotting import plot_frame_roc, plot_score_histograms

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    seed = curves.get("seed", 0)
    n_seeds = curves.get("n_seeds")
    caveat = _figure_caveat(curves)
    first = (f"the first seed (seed={seed}) of {n_seeds}; tables: {n_seeds}-seed means"
             if n_seeds and n_seeds > 1 else f"seed={seed}")

    fig = Figure(figsize=(6.5, 6), layout="constrained")
    ax = fig.add_subplot()
    plot_frame_roc(curves["frame_labels"], curves["scores"], ax=ax)
    ax.set_title(f"Figure 1: frame-level ROC, test videos of {first}\n"
                 "(legend: AUC and EER of that seed; dots: the EER points)"
                 + (f"\n{caveat}" if caveat else ""), fontsize="medium")
    roc_path = output_dir / FIGURE_FILES[0]
    fig.savefig(roc_path, dpi=120)

    names = list(curves["scores"])
    n = len(names)
    n_cols = min(n, 3)
    n_rows = -(-n // n_cols)
    fig = Figure(figsize=(3.6 * n_cols, 2.8 * n_rows + 0.6), layout="constrained")
    grid = fig.subplots(n_rows, n_cols, sharex=True, sharey=True, squeeze=False)
    axes = list(grid.ravel())
    lo = min(float(np.min(s)) for scores in curves["scores"].values() for s in scores)
    hi = max(float(np.max(s)) for scores in curves["scores"].values() for s in scores)
    plot_score_histograms(curves["frame_labels"], curves["scores"], axes=axes[:n],
                          bins=np.linspace(lo, hi + 1e-12, 41))
    for ax in axes[n:]:
        ax.set_visible(False)
    for i, ax in enumerate(axes[:n]):
        # shared axes: tick labels and axis labels on the outer panels only
        ax.set_xlabel("frame anomaly score" if i + n_cols >= n else "")
        ax.set_ylabel("density" if i % n_cols == 0 else "")
        ax.tick_params(labelbottom=i + n_cols >= n, labelleft=i % n_cols == 0)
        if i:
            ax.get_legend().remove()
    fig.suptitle(f"Figure 2: frame scores of normal (GT = 0) and abnormal (GT = 1) frames, "
                 f"test videos of {first}" + (f"\n{caveat}" if caveat else ""),
                 fontsize="medium")
    hist_path = output_dir / FIGURE_FILES[1]
    fig.savefig(hist_path, dpi=120)

    return roc_path, hist_path, write_timeline_figure(curves, output_dir)


def write_timeline_figure(curves, output_dir):
    """Write Figure 3: one abnormal test video's scores over time, per configuration.

    The abnormal test video whose share of abnormal frames is closest to one
    half (the first of equals), so that both kinds of frames show; each
    configuration's clip scores expanded to frames
    (:class:`~sklearn_wsvad.plotting.ScoreTimelineDisplay`), the ground truth
    shaded. Nothing is written when no test video is abnormal.

    Parameters
    ----------
    curves : dict
        As for :func:`write_figures`.
    output_dir : str or Path
        Folder of the PNG file, created if missing.

    Returns
    -------
    path : Path or None
    """
    from matplotlib.figure import Figure

    from ..plotting import ScoreTimelineDisplay

    shares = np.array([np.mean(lab) for lab in curves["frame_labels"]])
    if not shares.any():
        return None
    i = int(np.argmin(np.where(shares > 0, np.abs(shares - 0.5), np.inf)))
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax = fig.add_subplot()
    ScoreTimelineDisplay.from_predictions(
        {name: scores[i] for name, scores in curves["scores"].items()},
        curves["frame_labels"][i], ax=ax)
    caveat = _figure_caveat(curves)
    ax.set_title(f"Figure 3: scores of abnormal test video {i} over time, each configuration "
                 f"(seed={curves.get('seed', 0)}); shaded: abnormal frames"
                 + (f"\n{caveat}" if caveat else ""), fontsize="medium")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0,
              fontsize="small")
    path = output_dir / FIGURE_FILES[2]
    fig.savefig(path, dpi=120)
    return path
