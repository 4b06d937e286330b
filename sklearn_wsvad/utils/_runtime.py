"""Run-time settings of a fit: torch threads, and who is calling.

Nothing here changes state beyond the block it wraps: the thread count is
restored when the last block using it exits. torch is imported only by the
functions that need it, so that the metrics (which use the caller checks)
import without torch.
"""

import contextlib
import numbers
import os
import sys
import threading

#: scikit-learn's functions that fit an estimator on one split of a
#: cross-validation or of a meta-estimator's internal validation (in the
#: caller's process or in a joblib / Dask worker), by module.
CV_FITS = {
    "sklearn.model_selection._validation": (
        "_fit_and_score", "_fit_and_predict", "_permutation_test_score",
        "_incremental_fit_estimator"),
    "sklearn.model_selection._classification_threshold": (
        "_fit_and_score_over_thresholds",),
    "sklearn.calibration": ("_fit_classifier_calibrator_pair",),
}


def in_sklearn_call(functions=CV_FITS):
    """Whether one of scikit-learn's ``functions`` (module -> names) is on
    the current call stack."""
    frame = sys._getframe(1)
    while frame is not None:
        names = functions.get(frame.f_globals.get("__name__"))
        if names and frame.f_code.co_name in names:
            return True
        frame = frame.f_back
    return False


def called_by_sklearn_score(depth=1):
    """Whether the function ``depth`` frames above the caller was called by
    scikit-learn's ``_score`` (one split of a cross-validation), directly or
    through scikit-learn's multi-metric scorer: frames of
    ``sklearn.metrics._scorer`` in between are skipped, anything else ends
    the search."""
    frame = sys._getframe(depth + 2)
    while frame is not None and frame.f_globals.get("__name__") == "sklearn.metrics._scorer":
        frame = frame.f_back
    return (frame is not None and frame.f_code.co_name == "_score"
            and frame.f_globals.get("__name__") == "sklearn.model_selection._validation")


def available_cpus():
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def resolve_threads(n_threads):
    """The torch thread count that ``n_threads`` stands for (None: leave as is).

    ``"auto"``: half the CPUs available to the process, at least 1 and never
    more than torch's current setting (which a joblib worker already lowers
    through ``OMP_NUM_THREADS``). ``-1``: every available CPU. An integer:
    that many.
    """
    if n_threads is None:
        return None
    if isinstance(n_threads, str) and n_threads == "auto":
        import torch

        return max(1, min(torch.get_num_threads(), available_cpus() // 2))
    if (isinstance(n_threads, numbers.Integral) and not isinstance(n_threads, bool)
            and (n_threads >= 1 or n_threads == -1)):
        return available_cpus() if n_threads == -1 else int(n_threads)
    raise ValueError(
        f"n_threads={n_threads!r}: expected 'auto', -1 (every CPU), a positive integer or "
        "None (torch's current setting)."
    )


_lock = threading.Lock()
_active = {"count": 0, "before": None}


@contextlib.contextmanager
def torch_threads(n_threads):
    """Run a block with ``torch.set_num_threads(resolve_threads(n_threads))``.

    torch's thread count belongs to the process. Blocks may overlap (fits in
    several threads of one process): each sets its count on entry, and the
    caller's setting from before the first block is restored when the last
    one exits, whatever the order of exits.
    """
    n = resolve_threads(n_threads)
    if n is None:
        yield
        return
    import torch

    with _lock:
        if _active["count"] == 0:
            _active["before"] = torch.get_num_threads()
        _active["count"] += 1
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)
    try:
        yield
    finally:
        with _lock:
            _active["count"] -= 1
            if _active["count"] == 0 and torch.get_num_threads() != _active["before"]:
                torch.set_num_threads(_active["before"])
