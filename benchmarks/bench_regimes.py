"""Frame AUC of every model on every evaluation regime, with a floor and a ceiling.

For each regime of ``make_wsvad_regime`` and each seed, the training and test
videos (100 + 100 by default, half of the test videos from unseen scenes) are
drawn, and each model is fitted in its canonical pipeline with **default
settings on the raw features** (no scaler added)::

    FeatureNormClusterUndersampler(), SnippetReformer(<model's>), Model(random_state=seed)

and scored on every test clip. Two more regimes are CLIP-like
(``make_wsvad_clip_videos``, 200 videos split 100 + 100 by class, 512
features): ``clip_aligned`` (anomaly clips near their class's text
embedding) and ``clip_misaligned`` (unrelated to the text). VadCLIP gets the
data's class text embeddings and the training videos' classes there; on the
other regimes, whose features carry no text, it gets random unit text
embeddings (7 classes) and no classes. Two references come from the same split:

* floor: the raw feature norm of each clip as its score (no training);
* ceiling: a logistic regression on standardised clips, trained with the
  *clip* labels of the training videos (supervision no model gets).

Prints, per model and regime, the mean ± std over seeds and marks a mean below
the floor ("<") or below 0.5 ("!"). Each fit runs on one torch thread, the
fits in ``--n-jobs`` processes.

    python benchmarks/bench_regimes.py [--models magnitude,rtfm] [--regimes paper,lower_norm]
        [--seeds 3] [--n-features 256] [--n-jobs 2] [--set rtfm:magnitude_loss=hinge]
"""

import argparse
import ast
import time

import numpy as np
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_wsvad import frame_roc_auc_score, score_clips
from sklearn_wsvad.cli._reproduce import MODELS, _clip_split
from sklearn_wsvad.datasets import REGIMES, make_wsvad_regime
from sklearn_wsvad.refine import clip_norms

#: CLIP-like regimes: name -> make_wsvad_clip_videos regime
CLIP_REGIMES = {"clip_aligned": "aligned", "clip_misaligned": "misaligned"}


def _data(regime, seed, n_features):
    if regime in CLIP_REGIMES:
        return _clip_split(200, 0.5, 512, CLIP_REGIMES[regime], seed)
    return make_wsvad_regime(regime, n_features=n_features, random_state=seed)


def _references(regime, seed, n_features):
    train, test = _data(regime, seed, n_features)
    floor = frame_roc_auc_score(test.frame_labels, [clip_norms(v) for v in test.videos])
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    clf.fit(np.concatenate(train.videos), np.concatenate(train.clip_labels))
    ceiling = frame_roc_auc_score(test.frame_labels,
                                  [clf.decision_function(v) for v in test.videos])
    return {"floor (norm)": floor, "ceiling (clip LR)": ceiling}


def _model(name, regime, seed, n_features, params):
    import torch

    torch.set_num_threads(1)
    train, test = _data(regime, seed, n_features)
    spec = MODELS[name]
    fit_params = {}
    if spec.vision_language:
        if "text_embeddings" in train:
            params = {"text_embeddings": train.text_embeddings, **params}
            fit_params = {"model__video_classes": train.video_classes}
        else:
            text = np.random.default_rng(seed).normal(size=(7, train.videos[0].shape[1]))
            params = {"text_embeddings": text / np.linalg.norm(text, axis=1, keepdims=True),
                      **params}
    pipe = spec.pipeline(spec.build(random_state=seed, **params))
    start = time.perf_counter()
    pipe.fit(train.videos, train.target, **fit_params)
    auc = frame_roc_auc_score(test.frame_labels, score_clips(pipe, test.videos))
    return auc, time.perf_counter() - start


def _overrides(items):
    """``model:key=value`` strings -> {model: {key: value}}."""
    out = {}
    for item in items:
        model, assignment = item.split(":", 1)
        key, value = assignment.split("=", 1)
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            pass
        out.setdefault(model, {})[key] = value
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--regimes", default=",".join([*REGIMES, *CLIP_REGIMES]))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n-features", type=int, default=256)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], metavar="MODEL:PARAM=VALUE",
                        help="override a default, e.g. rtfm:magnitude_loss=hinge")
    args = parser.parse_args()
    models, regimes = args.models.split(","), args.regimes.split(",")
    params = _overrides(args.set)
    for kind, names, known in [("model", models + list(params), MODELS),
                               ("regime", regimes, [*REGIMES, *CLIP_REGIMES])]:
        unknown = sorted(set(names) - set(known))
        if unknown:
            parser.error(f"unknown {kind} {unknown}; expected names from {sorted(known)}")
    seeds = range(args.seeds)

    start = time.perf_counter()
    refs = Parallel(n_jobs=args.n_jobs)(
        delayed(_references)(r, s, args.n_features) for r in regimes for s in seeds)
    jobs = [(m, r, s) for m in models for r in regimes for s in seeds]
    fits = Parallel(n_jobs=args.n_jobs, verbose=5)(
        delayed(_model)(m, r, s, args.n_features, params.get(m, {})) for m, r, s in jobs)

    table = {}
    for r, ref in zip([r for r in regimes for _ in seeds], refs):
        for name, auc in ref.items():
            table.setdefault(name, {}).setdefault(r, []).append(auc)
    seconds = {}
    for (m, r, _), (auc, sec) in zip(jobs, fits):
        table.setdefault(m, {}).setdefault(r, []).append(auc)
        seconds.setdefault(m, []).append(sec)

    print(f"frame ROC AUC on the test videos, mean ± std over {args.seeds} seeds; "
          f"d={args.n_features}, defaults on raw features"
          + (f", overrides {params}" if params else ""))
    print("'<': mean below the floor; '!': below 0.5\n")
    width = 19
    print(f"| {'model':<22} | " + " | ".join(f"{r:^{width}}" for r in regimes)
          + " | s / fit |")
    print(f"|{'-' * 24}|" + "|".join("-" * (width + 2) for _ in regimes) + "|---------|")
    floor = {r: np.mean(table["floor (norm)"][r]) for r in regimes}
    for name, row in table.items():
        cells = []
        for r in regimes:
            mean, std = np.mean(row[r]), np.std(row[r])
            flag = " "
            if name in models:
                flag = "!" if mean < 0.5 else "<" if mean < floor[r] else " "
            cells.append(f"{mean:.3f} ± {std:.3f} {flag}")
        sec = f"{np.mean(seconds[name]):7.1f}" if name in seconds else " " * 7
        print(f"| {name:<22} | " + " | ".join(f"{c:^{width}}" for c in cells) + f" | {sec} |")
    print(f"\n{len(jobs)} fits in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
