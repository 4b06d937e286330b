"""MILRankingDetector against the PyTorch port of Sultani et al. on the same features.

The reference is ekosman/AnomalyDetectionCVPR2018-Pytorch (the widely used
port of Sultani, Chen & Shah's Keras code). Given a local checkout
(``--repo``), for each seed this script

1. draws one synthetic split (a regime of ``make_wsvad_regime``) and writes
   it in the port's layout (``layouts.write_sultani_layout``: 32 segments per
   video pooled by the MATLAB rule and scaled to unit norm, one text file per
   video, ``Train_Annotation.txt``);
2. trains the port's ``AnomalyDetector`` with its ``FeaturesLoader``
   (30 normal + 30 abnormal videos drawn with replacement per step),
   ``RegularizedLoss(custom_objective)``, Adadelta (lr 0.01, epsilon 1e-8)
   and ``TorchModel.fit``, as ``TrainingAnomalyDetector_public.py`` sets them
   up, for ``--steps`` steps; then scores every test video's 32 segments and
   spreads them over frames as ``generate_ROC.py`` does (segment ``i`` covers
   frames ``i * (n_frames // 32)`` to ``(i + 1) * (n_frames // 32)``; the
   frames after the last whole segment keep score 0);
3. trains ``SnippetReformer(32, boundaries="sultani", inference="snippets")
   -> MILRankingDetector`` on the clip features for the same number of steps
   (whole epochs, 30 + 30 videos per step), twice: with the port's choices
   (``reduction="mean"``, ``pairing="aligned"``, ``weight_penalty="norm"``,
   Adadelta, ``input_scaling=None``: the same training problem) and with the
   library's defaults (the Keras original's loss scale, Adagrad, standardised
   input); each clip gets its segment's score;

and prints frame AUC (mean ± std over seeds), seconds per training step and
test clips per second, with library / official ratios from the same run. The
official AUC is also given with its segment scores spread over clips by the
library's rule (each clip the score of the MATLAB segment it falls in), which
separates the training from the port's frame mapping. The official test path
reads pre-pooled segment files; test clips per second are given for the same
work (the library's model on the pooled segments, spread over the clips) and
for the library's whole pipeline (pooling included).

The port is not a dependency: it is imported from ``--repo``. Its feature
loader imports its video-extraction modules, which import torchvision and
matplotlib; when those are not installed, empty stand-ins are registered for
them (nothing of theirs runs in training or scoring). Its loader draws from
numpy's global RNG and its model from torch's: this script (not the library)
seeds both per seed.

Example (about 6 minutes with one thread here)::

    git clone https://github.com/ekosman/AnomalyDetectionCVPR2018-Pytorch /tmp/port
    python benchmarks/parity/sultani.py --repo /tmp/port --seeds 3 --steps 500
"""

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from layouts import make_multicrop_split, write_sultani_layout  # noqa: E402
from parity_common import (  # noqa: E402
    add_run_options,
    difference,
    fit_and_score,
    make_parser,
    mean_column,
    mean_std_column,
    print_table,
    ratio,
    steps_column,
)
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from sklearn_wsvad import SnippetReformer, frame_roc_auc_score, score_clips  # noqa: E402
from sklearn_wsvad.models import MILRankingDetector  # noqa: E402

#: the port's choices, as MILRankingDetector parameters
PORT_PARAMS = dict(reduction="mean", pairing="aligned", weight_penalty="norm",
                   optimizer=torch.optim.Adadelta, input_scaling=None)


class _Placeholder(type):
    """A class whose every attribute is another placeholder class."""

    def __getattr__(cls, name):
        return _placeholder_attribute(name)


def _placeholder_attribute(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _Placeholder(name, (), {})


class _StandIn(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Empty packages for ``torchvision`` / ``matplotlib`` (video extraction, plots)."""

    def __init__(self, names):
        self.names = names

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__path__ = []
        module.__getattr__ = _placeholder_attribute
        return module

    def exec_module(self, module):
        pass


def import_official(repo):
    """The port's ``features_loader``, ``anomaly_detector_model`` and ``TorchUtils``."""
    repo = Path(repo).resolve()
    if not (repo / "features_loader.py").exists() or not (repo / "network").is_dir():
        raise SystemExit(f"{repo} is not a checkout of ekosman/AnomalyDetectionCVPR2018-Pytorch")
    missing = {name for name in ("torchvision", "matplotlib")
               if importlib.util.find_spec(name) is None}
    if missing:
        sys.meta_path.insert(0, _StandIn(missing))
    sys.path.insert(0, str(repo))
    import features_loader
    from network import TorchUtils, anomaly_detector_model

    return features_loader, anomaly_detector_model, TorchUtils


def port_frame_scores(segment_scores, n_frames):
    """``generate_ROC.py``'s spreading of 32 segment scores over ``n_frames`` frames."""
    out = np.zeros(n_frames)
    length = n_frames // len(segment_scores)
    for i, score in enumerate(segment_scores):
        out[i * length:(i + 1) * length] = score
    return out


def run_official(modules, layout, root, test, steps, n_features, seed):
    features_loader, detector_model, torch_utils = modules
    np.random.seed(seed)  # noqa: NPY002 (its FeaturesLoader uses np.random.choice)
    torch.manual_seed(seed)  # its initialisation and dropout
    loader = features_loader.FeaturesLoader(features_path=str(root),
                                            annotation_path=str(layout.train_annotation),
                                            iterations=steps)
    network = detector_model.AnomalyDetector(n_features)
    model = torch_utils.TorchModel(network).to(torch.device("cpu")).train()
    optimizer = torch.optim.Adadelta(model.parameters(), lr=0.01, eps=1e-8)
    criterion = detector_model.RegularizedLoss(model.get_model(), detector_model.custom_objective)
    start = time.perf_counter()
    model.fit(train_iter=loader, criterion=criterion, optimizer=optimizer, epochs=1)
    train_seconds = time.perf_counter() - start

    read = sys.modules["feature_extractor"].read_features
    segments = [read(str(path)) for path in layout.test]  # read before timing, as a cache
    model.eval()
    port_frames, clip_scores = [], []
    start = time.perf_counter()
    with torch.no_grad():
        for feats, labels in zip(segments, test.frame_labels):
            out = model(feats[None]).squeeze(-1)[0].numpy()
            port_frames.append(port_frame_scores(out, len(labels)))
            clip_scores.append(out)
    test_seconds = time.perf_counter() - start
    n_clips = sum(len(v) for v in test.videos)
    # the same segment scores spread over clips by the library's rule
    reformer = SnippetReformer(n_snippets=32, boundaries="sultani", inference="snippets")
    index = reformer.fit(test.videos).transform_index(test.videos)
    expanded = [s[i] for s, i in zip(clip_scores, index)]
    auc_port = roc_auc_score(np.concatenate(test.frame_labels), np.concatenate(port_frames))
    auc_clips = frame_roc_auc_score(test.frame_labels, expanded)
    return auc_port, auc_clips, train_seconds / steps, n_clips / test_seconds


def run_library(train, test, steps, seed, params):
    per_class = 30

    def make_pipe(epochs):
        return make_pipeline(
            SnippetReformer(n_snippets=32, boundaries="sultani", inference="snippets"),
            MILRankingDetector(batch_size=2 * per_class, max_epochs=epochs, random_state=seed,
                               **params),
        )

    pipe, scores, s_step, clips_s, done = fit_and_score(
        make_pipe, train, test, steps, max(np.bincount(train.target)), per_class)
    n_clips = sum(s.size for s in scores)
    # the official test path's work: the model on pre-pooled segments, spread over clips
    segments = pipe[:-1].transform(test.videos)
    index = pipe[0].transform_index(test.videos)
    start = time.perf_counter()
    segment_scores = score_clips(pipe[-1], segments)
    same = [s[i] for s, i in zip(segment_scores, index)]
    model_seconds = time.perf_counter() - start
    assert all(np.allclose(a, b) for a, b in zip(same, scores))
    return (frame_roc_auc_score(test.frame_labels, scores), s_step, clips_s, done,
            n_clips / model_seconds)


def main(argv=None):
    parser = make_parser(__doc__, "ekosman/AnomalyDetectionCVPR2018-Pytorch")
    parser.add_argument("--regime", default="similar_norm")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--n-features", type=int, default=4096, help="C3D's 4096 by default")
    parser.add_argument("--n-train", type=int, default=120)
    parser.add_argument("--n-test", type=int, default=100)
    add_run_options(parser)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    rows = {"official": [], "official, clip mapping": [], "library, port's choices": [],
            "library, defaults": []}
    with tempfile.TemporaryDirectory() as scratch:
        modules = import_official(args.repo)
        for seed in range(args.seeds):
            train, test = make_multicrop_split(
                args.regime, n_crops=1, n_features=args.n_features, n_train=args.n_train,
                n_test=args.n_test, random_state=seed)
            root = Path(scratch) / f"seed{seed}"
            layout = write_sultani_layout(root, train, test)  # pools the crop mean
            train.videos = [v[:, 0] for v in train.videos]  # one crop: the same clips
            test.videos = [v[:, 0] for v in test.videos]
            auc_port, auc_clips, s_step, clips_s = run_official(
                modules, layout, root, test, args.steps, args.n_features, seed)
            rows["official"].append((auc_port, s_step, clips_s, args.steps, clips_s))
            rows["official, clip mapping"].append((auc_clips, s_step, clips_s, args.steps,
                                                   clips_s))
            for name, params in (("library, port's choices", PORT_PARAMS),
                                 ("library, defaults", {})):
                rows[name].append(run_library(train, test, args.steps, seed, params))
            print(f"seed {seed}: " + ", ".join(f"{k} {v[-1][0]:.3f}" for k, v in rows.items()),
                  flush=True)

    print(f"\nSultani parity (PyTorch port): regime={args.regime}, d={args.n_features}, "
          f"30 + 30 videos per step, {args.seeds} seeds")
    def pipeline(name, r):  # the official test path reads pre-pooled segments
        return f"{'-' if name.startswith('official') else f'{r[:, 2].mean():.0f}':>19}"

    print_table(rows, [steps_column(3), mean_std_column("frame AUC    ", 0),
                       mean_column("s / step", 1, ">8.4f"),
                       mean_column("clips / s, segments", 4, ">20.0f"),
                       ("clips / s, pipeline", pipeline)])
    official_segments = np.array(rows["official"])[:, 4].mean()
    for name in ("library, port's choices", "library, defaults"):
        print(f"{name}: AUC - official {difference(rows, 0, name):+.3f}; "
              f"s / step ratio {ratio(rows, 1, name):.2f}; "
              f"clips / s ratio on segments {ratio(rows, 4, name):.2f}, "
              f"with pooling {np.array(rows[name])[:, 2].mean() / official_segments:.2f}")


if __name__ == "__main__":
    main()
