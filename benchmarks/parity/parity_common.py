"""What the parity runners share: the library side of a run."""

import time

import numpy as np

from sklearn_wsvad import score_clips

__all__ = ["fit_and_score"]


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
