"""What the parity runners share.

* the command line: :func:`make_parser` (``--repo``), :func:`add_run_options`
  (``--threads``, ``--no-defaults``, ``--set``), :func:`parse_overrides` and
  :func:`library_runs`;
* loading the official code: :func:`substitute` (asserted textual
  substitutions) and :func:`module_from_source`;
* the official side of a run: :func:`paired_loaders` and :func:`run_steps`
  (the normal + abnormal loop of RTFM's ``main.py``, which BN-WVAD, CLIP-TSA
  and VadCLIP keep), and for the RTFM family (RTFM, CLIP-TSA)
  :func:`rtfm_list_dataset`, :func:`rtfm_test_scores` and
  :func:`run_rtfm_main`;
* the library side of a run: :func:`fit_and_score` and
  :func:`fit_and_score_floor`;
* the report: :func:`print_table` with its columns (:func:`steps_column`,
  :func:`mean_std_column`, :func:`mean_column`, :func:`timing_columns`),
  :func:`difference`, :func:`ratio` and :func:`print_versus_official`.

The per-seed results of a runner are ``rows``: a dict from each code's name
(``"official"``, ``"library"``, ...) to a list of per-seed tuples of numbers
(metrics, seconds per step, test clips per second, steps).
"""

import argparse
import ast
import sys
import time
import types
from pathlib import Path

import numpy as np

from sklearn_wsvad import SnippetReformer, score_clips

__all__ = [
    "make_parser",
    "add_run_options",
    "parse_overrides",
    "library_runs",
    "substitute",
    "module_from_source",
    "paired_loaders",
    "run_steps",
    "rtfm_list_dataset",
    "rtfm_test_scores",
    "run_rtfm_main",
    "fit_and_score",
    "fit_and_score_floor",
    "print_table",
    "steps_column",
    "mean_std_column",
    "mean_column",
    "timing_columns",
    "difference",
    "ratio",
    "print_versus_official",
]


# -- the command line -------------------------------------------------------------------------

def make_parser(doc, repo):
    """A runner's parser: the first line of its ``doc`` and ``--repo`` (a checkout of ``repo``)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--repo", required=True, help=f"local checkout of {repo}")
    return parser


def add_run_options(parser, *, no_defaults=False, set_help=None):
    """Add ``--threads``, then ``--no-defaults`` if asked, then ``--set`` if ``set_help``.

    ``set_help`` says what a ``--set PARAM=VALUE`` sets (``"... parameter for
    the library run"``); :func:`parse_overrides` reads the values.
    """
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for both codes (default: 1)")
    if no_defaults:
        parser.add_argument("--no-defaults", action="store_true",
                            help="skip the library run with its own defaults")
    if set_help is not None:
        parser.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE",
                            help=f"{set_help} (Python literal)")


def parse_overrides(items):
    """``--set`` items ``PARAM=VALUE`` as a dict (a value that is not a Python
    literal is kept as a string)."""
    params = {}
    for item in items:
        key, value = item.split("=", 1)
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return params


def library_runs(official_params, overrides, no_defaults):
    """The library runs of a runner, by name: with the official code's settings
    (``official_params``) and, unless ``no_defaults``, with the library's
    defaults; ``overrides`` (from ``--set``) apply to both."""
    runs = {"library, official settings": {**official_params, **overrides}}
    if not no_defaults:
        runs["library, defaults"] = overrides
    return runs


# -- loading the official code ----------------------------------------------------------------

def substitute(source, substitutions, name):
    """``source`` with each ``(old, new)`` of ``substitutions`` replaced.

    Each ``old`` must occur exactly once in ``source`` (the file ``name`` of
    the official code); otherwise the runner stops, as upstream has changed.
    """
    for old, new in substitutions:
        if source.count(old) != 1:
            raise SystemExit(f"{name} changed upstream: {old!r} found {source.count(old)} "
                             "times; update the substitutions")
        source = source.replace(old, new)
    return source


def module_from_source(name, source, filename):
    """Execute ``source`` (the file ``filename``, possibly substituted) as the
    module ``name``, registered in ``sys.modules``, and return it."""
    module = types.ModuleType(name)
    module.__file__ = filename
    sys.modules[name] = module
    exec(compile(source, filename, "exec"), module.__dict__)  # noqa: S102
    return module


# -- the official side ------------------------------------------------------------------------

def paired_loaders(make_dataset, batch_size):
    """The normal and the abnormal training loader of the official loops.

    ``make_dataset(is_normal)`` gives the official dataset of one class; each
    loader shuffles, draws ``batch_size`` videos a batch and drops the last
    incomplete batch, in the main process.
    """
    from torch.utils.data import DataLoader

    return [DataLoader(make_dataset(normal), batch_size=batch_size, shuffle=True,
                       num_workers=0, drop_last=True)
            for normal in (True, False)]


def run_steps(loaders, steps, step):
    """RTFM's ``main.py`` loop for ``steps`` steps; returns the seconds per step.

    ``loaders`` are the normal and the abnormal loader (:func:`paired_loaders`),
    each iterated afresh when exhausted (every ``len(loader)`` steps), and
    ``step(normal_iter, abnormal_iter)`` runs one official training step.
    """
    start = time.perf_counter()
    for i in range(steps):
        if i % len(loaders[0]) == 0:
            normal_iter = iter(loaders[0])
        if i % len(loaders[1]) == 0:
            abnormal_iter = iter(loaders[1])
        step(normal_iter, abnormal_iter)
    return (time.perf_counter() - start) / steps


def rtfm_list_dataset(dataset_class, args, list_file, n_abnormal, *, is_normal=True,
                      test_mode=False):
    """The RTFM family's official ``Dataset`` (RTFM, CLIP-TSA) on a list written here.

    Only its ``_parse_list`` is replaced: it reads ``list_file`` (one path a
    line, :func:`layouts.write_rtfm_layout`) and, for training, splits it at
    ``n_abnormal`` (the code hard-codes its data sets' counts), without
    printing the lists. ``args`` is the namespace its ``__init__`` reads.
    """
    class ListDataset(dataset_class):
        def _parse_list(self):
            self.list = Path(list_file).read_text().splitlines()
            if not self.test_mode:
                self.list = self.list[n_abnormal:] if self.is_normal else self.list[:n_abnormal]

    return ListDataset(args, is_normal=is_normal, test_mode=test_mode)


def rtfm_test_scores(model, dataset):
    """``test_10crop.test()``'s forward pass of the RTFM family, kept per video.

    Every video of ``dataset`` (one a batch, in order) through ``model`` in
    eval mode, its crop-mean clip scores (output 6) kept. Returns the scores
    (one array a video) and the test clips per second.
    """
    import torch
    from torch.utils.data import DataLoader

    test = DataLoader(dataset, batch_size=1, shuffle=False, num_workers=0)
    scores, n_clips = [], 0
    start = time.perf_counter()
    with torch.no_grad():
        model.eval()
        for inputs in test:
            inputs = inputs.permute(0, 2, 1, 3)
            logits = torch.mean(torch.squeeze(model(inputs=inputs)[6], 1), 0)
            scores.append(logits.numpy().ravel())
            n_clips += scores[-1].size
    return scores, n_clips / (time.perf_counter() - start)


def run_rtfm_main(dataset_class, dataset_args, layout, batch_size, steps, make_model,
                  train_step):
    """Train and test the RTFM family's code (RTFM, CLIP-TSA) on a ``layout``.

    The training loaders of ``main.py`` (:func:`paired_loaders` of
    :func:`rtfm_list_dataset` on ``layout.train_list``, ``batch_size`` videos
    a class), the model ``make_model()`` built after them, Adam (lr 1e-3,
    weight decay 5e-3) and ``steps`` steps of :func:`run_steps`, each
    ``train_step(normal_iter, abnormal_iter, model, optimizer)`` (the code's
    ``train()``); then :func:`rtfm_test_scores` on ``layout.test_list``.
    The caller seeds torch first.

    Returns
    -------
    scores, seconds_per_step, test_clips_per_second
    """
    import torch

    loaders = paired_loaders(
        lambda normal: rtfm_list_dataset(dataset_class, dataset_args, layout.train_list,
                                         layout.n_abnormal, is_normal=normal),
        batch_size)
    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=5e-3)
    s_step = run_steps(loaders, steps,
                       lambda normal, abnormal: train_step(normal, abnormal, model, optimizer))
    scores, clips_s = rtfm_test_scores(
        model, rtfm_list_dataset(dataset_class, dataset_args, layout.test_list, 0,
                                 test_mode=True))
    return scores, s_step, clips_s


# -- the library side -------------------------------------------------------------------------

def fit_and_score(make_pipe, train, test, steps, bags_per_class, per_class):
    """Train a library pipeline for about ``steps`` optimizer steps, then score.

    The library counts whole epochs: ``bags_per_class`` (training bags of the
    larger class) over ``per_class`` bags of a class per step gives the steps
    of an epoch, and ``make_pipe(epochs)`` builds the pipeline for the nearest
    whole number of epochs.

    Returns
    -------
    pipe, scores, seconds_per_step, test_clips_per_second, steps_done
    """
    n_batches = int(np.ceil(bags_per_class / per_class))
    epochs = max(1, int(round(steps / n_batches)))
    pipe = make_pipe(epochs)
    start = time.perf_counter()
    pipe.fit(train.videos, train.target)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    scores = score_clips(pipe, test.videos)
    test_seconds = time.perf_counter() - start
    n_clips = sum(s.size for s in scores)
    done = epochs * n_batches
    return pipe, scores, train_seconds / done, n_clips / test_seconds, done


def fit_and_score_floor(make_detector, train, test, steps, per_class, *, n_snippets=32,
                        bags_per_video=1):
    """:func:`fit_and_score` of ``SnippetReformer(n_snippets, boundaries="floor")
    -> make_detector(max_epochs=epochs)``, ``per_class`` bags of a class a step.

    The bags of a class are its training videos times ``bags_per_video``
    (the crops of a video, when they train as separate bags).

    Returns
    -------
    scores, seconds_per_step, test_clips_per_second, steps_done
    """
    from sklearn.pipeline import make_pipeline

    def make_pipe(epochs):
        return make_pipeline(SnippetReformer(n_snippets=n_snippets, boundaries="floor"),
                             make_detector(max_epochs=epochs))

    _, scores, s_step, clips_s, done = fit_and_score(
        make_pipe, train, test, steps, max(np.bincount(train.target)) * bags_per_video,
        per_class)
    return scores, s_step, clips_s, done


# -- the report -------------------------------------------------------------------------------

def print_table(rows, columns):
    """Print ``rows`` as a Markdown table, a line a code.

    The first column is the code's name (as wide as the longest); then
    ``columns``, ``(header, cell)`` pairs, ``cell(name, r)`` the text of the
    column for the code ``name`` from its per-seed array ``r`` (seeds x
    fields). Headers and cells are printed as given; the separator line
    follows the headers' widths.
    """
    width = max(len(name) for name in rows)
    headers = ["code".ljust(width)] + [header for header, _ in columns]
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("-" * (len(header) + 2) for header in headers) + "|")
    for name, r in rows.items():
        r = np.array(r)
        print("| " + " | ".join([name.ljust(width)] + [cell(name, r) for _, cell in columns])
              + " |")


def steps_column(k):
    """The ``steps`` column of :func:`print_table`: field ``k`` of the first seed."""
    return "steps", lambda name, r: f"{int(r[0, k]):>5}"


def mean_std_column(header, k, spec=".3f", end=""):
    """A column of field ``k`` as ``mean ± std`` over seeds, both formatted by
    ``spec``, followed by ``end``."""
    return header, lambda name, r: f"{r[:, k].mean():{spec}} ± {r[:, k].std():{spec}}{end}"


def mean_column(header, k, spec):
    """A column of the mean of field ``k`` over seeds, formatted by ``spec``."""
    return header, lambda name, r: f"{r[:, k].mean():{spec}}"


def timing_columns(s_step, clips_s):
    """The ``s / step`` and ``test clips / s`` columns: the means of fields
    ``s_step`` and ``clips_s``."""
    return [mean_column("s / step", s_step, ">8.3f"),
            mean_column("test clips / s", clips_s, ">14.0f")]


def difference(rows, k, name="library", reference="official"):
    """The mean over seeds of field ``k`` of ``name`` minus that of ``reference``."""
    return np.array(rows[name])[:, k].mean() - np.array(rows[reference])[:, k].mean()


def ratio(rows, k, name="library", reference="official"):
    """The mean over seeds of field ``k`` of ``name`` over that of ``reference``."""
    return np.array(rows[name])[:, k].mean() / np.array(rows[reference])[:, k].mean()


def print_versus_official(rows, names, auc, s_step, clips_s):
    """A line a library run of ``names``: its AUC (field ``auc``) minus the
    official one, and the ratios of seconds per step and test clips per second."""
    for name in names:
        print(f"{name}: AUC - official {difference(rows, auc, name):+.3f}; "
              f"s / step ratio (library / official) {ratio(rows, s_step, name):.2f}; "
              f"clips / s ratio {ratio(rows, clips_s, name):.2f}")
