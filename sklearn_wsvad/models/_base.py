"""skorch base class of the video MIL models."""

import contextlib
import inspect
import numbers
import warnings

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.metrics import roc_auc_score
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.metaestimators import available_if
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping
from skorch.utils import to_tensor
from torch.utils.data import DataLoader, Subset

from ..refine._scalers import _pooled_mean_var
from ..utils._runtime import in_sklearn_call, torch_threads
from ..utils.validation import (
    check_both_classes,
    check_video_labels,
    check_videos,
)
from ._data import BalancedVideoLoader, VideoDataset, pad_collate

__all__ = ["BaseVideoMILNet"]


@contextlib.contextmanager
def _forked_torch_rng(seed, device):
    """Run a block with torch's RNG seeded, restoring the caller's state after.

    ``torch.random.fork_rng`` saves the global CPU (and the used CUDA device's)
    generator state and restores it on exit, so seeding inside it makes one
    ``fit`` reproducible without changing the user's global RNG state.
    """
    device = torch.device(device)
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.random.manual_seed(seed)
        yield


def _buffers(module):
    """The buffers of a module, or of the module under ``torch.compile``."""
    return getattr(module, "_orig_mod", module)._buffers


#: Clips per piece when a model whose scores depend on a bounded context
#: (``_score_halo``) scores a longer video, and per scoring batch (16384 clips
#: of 2048 float32 features: 128 MiB per copy); a model may take fewer
#: (``_score_piece_clips``).
_SCORE_CHUNK_CLIPS = 16384


#: Clips per piece when a model with a global part (``stream_scores`` of its
#: module: RTFM, BN-WVAD, the cross-batch GCN) scores a longer video in passes
#: over the video (4096 clips of 2048 float32 features: 32 MiB per copy; the
#: models' intermediate tensors are several times wider than the input).
_STREAM_CHUNK_CLIPS = 4096


def _chunk_bags(bags, halo, chunk):
    """Pieces to score and how to rebuild each bag's scores from them.

    Returns ``pieces`` (arrays, views of the bags) and, per bag, a list of
    ``(piece index, slice of that piece's scores to keep)``. With ``halo``
    None, or a bag of at most ``chunk`` rows, the bag is one piece; otherwise
    pieces of ``chunk`` rows plus ``halo`` rows of context on each side.
    """
    pieces, keep = [], []
    for bag in bags:
        n = len(bag)
        if halo is None or n <= chunk:
            keep.append([(len(pieces), slice(0, n))])
            pieces.append(bag)
            continue
        parts = []
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            lo, hi = max(0, start - halo), min(n, stop + halo)
            parts.append((len(pieces), slice(start - lo, stop - lo)))
            pieces.append(bag[lo:hi])
        keep.append(parts)
    return pieces, keep


def _split_crops(videos):
    """Bags of a list of videos: each 2-D video is one bag, each crop of a
    3-D video ``(n_clips, n_crops, d)`` another (a view, no copy).

    Returns the bags and, for each bag, the index of its video.
    """
    bags, owner = [], []
    for i, video in enumerate(videos):
        if video.ndim == 3:
            bags.extend(video[:, c] for c in range(video.shape[1]))
            owner.extend([i] * video.shape[1])
        else:
            bags.append(video)
            owner.append(i)
    return bags, np.asarray(owner, dtype=np.intp)


def _low_padding_groups(sorted_lengths, max_padding=0.0):
    """Split bags sorted by length into consecutive groups padded by at most
    ``max_padding`` of their real clips (each group padded to its longest
    bag): slices of the sorted order. The default, 0, batches only bags of
    equal length (e.g. the crops of a video, or snippet-pooled videos): on
    RTFM's 3-crop test videos this scored 1.2x faster than groups padded by
    up to 10%, as fast as the official code's one video at a time.
    """
    groups, start, total = [], 0, 0
    for i, n in enumerate(sorted_lengths):
        if i > start and (i - start + 1) * n > (1 + max_padding) * (total + n):
            groups.append(slice(start, i))
            start, total = i, 0
        total += n
    groups.append(slice(start, len(sorted_lengths)))
    return groups


def _same_default(value, default):
    """Whether a parameter value is its default (same object, or equal scalar)."""
    if value is default:
        return True
    simple = (bool, int, float, str, type(None))
    return type(value) is type(default) and isinstance(value, simple) and value == default


def _check_device(device):
    """A ``ValueError`` naming the device when torch cannot use it here."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as error:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'cpu', 'cuda' (or 'cuda:N') or "
            f"'mps' ({error})."
        ) from None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} but torch finds no CUDA device (torch "
                f"{torch.__version__}); use device='cpu' or install a CUDA build of torch."
            )
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} but torch finds {torch.cuda.device_count()} CUDA "
                "device(s); use an index below that."
            )
    if parsed.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"device={device!r} but torch finds no MPS device (Apple GPUs; torch "
            f"{torch.__version__}); use device='cpu'."
        )


class BaseVideoMILNet(ClassifierMixin, NeuralNet):
    """skorch ``NeuralNet`` for weakly supervised video models.

    A sample is a video ``(n_clips, n_features)``; the target is its 0/1
    video label. Subclasses supply a torch module whose
    ``forward(x, mask)`` takes a padded batch (``x``: b x t x d, ``mask``:
    b x t, True on real clips) and returns a dict with at least ``"scores"``
    (b x t, higher = more anomalous), and a criterion called as
    ``criterion(output, y, mask)``. Padding never reaches a loss or a score.

    Subclasses declare their own hyper-parameters in ``__init__`` and pass them
    to the module and criterion by overriding :meth:`_module_params` and
    :meth:`_criterion_params`.

    What this base provides: input validation before any training; input
    standardisation with statistics of the training rows
    (``input_scaling="standard"``, applied to every batch before the module,
    padding kept at zero); a balanced
    normal/abnormal batch loader built from the fold's labels; reproducible
    training from ``random_state`` without touching global RNG state;
    ``device`` selection; and the prediction API: :meth:`score_clips`,
    :meth:`decision_function`, :meth:`predict`, :meth:`score`.
    """

    #: Whether ``scores`` are probabilities (enables ``predict_proba``).
    _scores_are_probabilities = False

    #: Whether videos may carry a crop axis ``(n_clips, n_crops, n_features)``:
    #: by default each crop is then a separate bag in training (a subclass may
    #: train the crops jointly, as RTFMDetector does), and scores are averaged
    #: over the crops of a video at inference.
    _accepts_crops = False

    #: Constraints checked by ``fit``; subclasses extend this dict.
    _parameter_constraints = {
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "max_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 2, None, closed="left")],
        "input_scaling": [StrOptions({"standard"}), None],
        "n_threads": [Interval(numbers.Integral, 1, None, closed="left"),
                      Options(numbers.Integral, {-1}), StrOptions({"auto"}), None],
        "progress_bar": ["boolean", StrOptions({"auto"})],
    }

    def __init__(
        self,
        module,
        criterion,
        *,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        weight_decay=0.0,
        max_epochs=50,
        batch_size=64,
        iterator_train=BalancedVideoLoader,
        iterator_valid=DataLoader,
        train_split=None,
        callbacks=None,
        warm_start=False,
        verbose=0,
        device="cpu",
        random_state=None,
        threshold=0.5,
        input_scaling="standard",
        n_threads="auto",
        progress_bar="auto",
        **kwargs,
    ):
        super().__init__(
            module,
            criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            iterator_train=iterator_train,
            iterator_valid=iterator_valid,
            train_split=train_split,
            callbacks=callbacks,
            warm_start=warm_start,
            verbose=verbose,
            device=device,
            **kwargs,
        )
        self.weight_decay = weight_decay
        self.random_state = random_state
        self.threshold = threshold
        self.input_scaling = input_scaling
        self.n_threads = n_threads
        self.progress_bar = progress_bar

    # ---- hooks for subclasses ------------------------------------------------
    def _module_params(self):
        """Keyword arguments of the module, from the estimator's parameters."""
        return {}

    def _criterion_params(self):
        """Keyword arguments of the criterion, from the estimator's parameters."""
        return {}

    def _check_params(self):
        """Validate hyper-parameters; called by ``fit`` before any work."""
        validate_parameter_constraints(
            self._parameter_constraints,
            {k: getattr(self, k) for k in self._parameter_constraints},
            caller_name=type(self).__name__,
        )

    # ---- skorch plumbing -----------------------------------------------------
    def initialize_module(self):
        module_params = self.get_params_for("module")
        if not hasattr(self, "n_features_in_"):
            # initialize() before fit (e.g. to load_params into a fresh estimator)
            if "n_features" not in module_params:
                raise ValueError(
                    f"{type(self).__name__}.initialize() before fit needs the feature "
                    "dimension: pass it as module__n_features, e.g. "
                    f"{type(self).__name__}(module__n_features=2048).initialize(), then "
                    "load_params(...). fit() sets it from the data."
                )
            self.n_features_in_ = int(module_params["n_features"])
            self.classes_ = np.array([0, 1])
        elif module_params.get("n_features", self.n_features_in_) != self.n_features_in_:
            raise ValueError(
                f"module__n_features={module_params['n_features']} but the data have "
                f"{self.n_features_in_} features; drop module__n_features (fit sets the "
                "input size from the data)."
            )
        kwargs = {"n_features": self.n_features_in_, **self._module_params(), **module_params}
        self.module_ = self.initialized_instance(self.module, kwargs)
        self._attach_input_scaling()
        return self

    def _attach_input_scaling(self):
        """Keep the input statistics on the module as float64 buffers.

        Every route that saves and restores the module's state (pickle,
        ``save_params`` / ``load_params``, skorch's ``Checkpoint`` /
        ``LoadInitState``) then carries them. Before ``fit`` has computed them
        (``initialize()`` on a fresh estimator) they are the identity, until
        ``load_params`` brings the saved ones.
        """
        if self.input_scaling is None:
            for name in ("input_mean", "input_scale"):  # a reused module instance
                self.module_._buffers.pop(name, None)
            return
        stats = getattr(self, "_input_stats", None)
        if stats is None:
            stats = (np.zeros(self.n_features_in_), np.ones(self.n_features_in_))
        for name, value in zip(("input_mean", "input_scale"), stats):
            self.module_.register_buffer(name, torch.as_tensor(value, dtype=torch.float64))

    def __setstate__(self, state):
        # estimators pickled before the statistics moved onto the module kept
        # them as attributes: move them, so that they keep scaling the input
        legacy = {k: state.pop(k, None) for k in ("input_mean_", "input_scale_")}
        super().__setstate__(state)
        module = self.__dict__.get("module_")
        if legacy["input_mean_"] is not None and module is not None:
            for name in ("input_mean", "input_scale"):
                value = torch.as_tensor(legacy[name + "_"], dtype=torch.float64)
                getattr(module, "_orig_mod", module).register_buffer(
                    name, value.to(next(module.parameters()).device))

    def _input_statistic(self, name):
        if "module_" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__} is not fitted: no {name}_ yet.")
        value = _buffers(self.module_).get(name)
        return None if value is None else value.detach().cpu().numpy()

    @property
    def input_mean_(self):
        """Per-feature mean of ``input_scaling`` (None without it)."""
        return self._input_statistic("input_mean")

    @property
    def input_scale_(self):
        """Per-feature scale of ``input_scaling`` (None without it)."""
        return self._input_statistic("input_scale")

    def initialize_criterion(self):
        kwargs = {**self._criterion_params(), **self.get_params_for("criterion")}
        self.criterion_ = self.initialized_instance(self.criterion, kwargs)
        return self

    def get_params_for_optimizer(self, prefix, named_parameters):
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        if prefix == "optimizer":
            kwargs.setdefault("weight_decay", self.weight_decay)
        return args, kwargs

    def get_dataset(self, X, y=None):
        bags, owner = _split_crops(X)
        dataset = VideoDataset(bags, None if y is None else np.asarray(y)[owner])
        dataset.owner = owner  # the video of each bag (several for crops)
        return dataset

    def get_split_datasets(self, X, y=None, **fit_params):
        """skorch's training / validation split, made over videos.

        Where a video's crops are separate bags, ``train_split`` (e.g.
        ``ValidSplit(5, stratified=True)``) splits the videos with their
        labels, and each side gets all the bags of its videos: no video is
        on both sides. A ``train_split`` that returns other datasets than
        parts of what it is given (``predefined_split``) gets the bags.
        """
        dataset = self.get_dataset(X, y)
        owner = getattr(dataset, "owner", None)
        if not self.train_split or owner is None or len(owner) == len(X) or y is None:
            return super().get_split_datasets(X, y, **fit_params)
        videos = VideoDataset(np.arange(len(X)), y)
        parts = self.train_split(videos, np.asarray(y), **fit_params)
        if all(isinstance(part, Subset) and part.dataset is videos for part in parts):
            return tuple(Subset(dataset, np.flatnonzero(np.isin(owner, part.indices)))
                         for part in parts)
        return self.train_split(dataset, dataset.y, **fit_params)

    def get_iterator(self, dataset, training=False):
        prefix = "iterator_train" if training else "iterator_valid"
        iterator = self.iterator_train if training else self.iterator_valid
        kwargs = self.get_params_for(prefix)
        kwargs.setdefault("batch_size", self.batch_size)
        kwargs.setdefault("collate_fn", pad_collate)
        if isinstance(iterator, type) and issubclass(iterator, BalancedVideoLoader):
            kwargs.setdefault("random_state", getattr(self, "training_seed_", None))
        return iterator(dataset, **kwargs)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        mask = to_tensor(X["mask"], device=self.device)
        y_true = to_tensor(y_true, device=self.device)
        scores = self._batch_scores(y_pred)
        if not torch.isfinite(scores[mask]).all():
            raise FloatingPointError(
                f"{type(self).__name__} produced non-finite scores in training (epoch "
                f"{len(self.history)}): the computation overflowed float32. The "
                f"features are too large for it (largest |value| in this batch: "
                f"{float(X['x'].abs().max()):.3g}); rescale them, e.g. with "
                "input_scaling='standard' (the default) or ClipStandardScaler."
            )
        return self.criterion_(y_pred, y_true, mask)

    # ---- fitting -------------------------------------------------------------
    def _check_cuda_available(self):
        _check_device(self.device)

    def fit(self, X, y):
        """Train on videos and their video-level labels only.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)
            Training videos (typically snippets from
            :class:`~sklearn_wsvad.SnippetReformer`). Models that accept
            crops also take ``(n_clips_i, n_crops, n_features)`` videos (each
            crop a separate bag with the video's label, or the crops trained
            jointly: see the model).
        y : array-like of shape (n_videos,)
            0 for normal and 1 for abnormal videos; both must occur.

        Returns
        -------
        self : object
        """
        self._check_params()
        self._check_cuda_available()
        warm = self.warm_start and self.initialized_
        # a warm start continues the fitted module: the data must match its input size
        videos, y = self._check_training_data(X, y, self.n_features_in_ if warm else None)
        self.n_features_in_ = videos[0].shape[-1]
        self.classes_ = np.array([0, 1])
        rng = check_random_state(self.random_state)
        self.training_seed_ = int(rng.randint(np.iinfo(np.int32).max))
        with torch_threads(self.n_threads), _forked_torch_rng(self.training_seed_, self.device):
            # skorch's fit, minus its call to the validating partial_fit below
            if not self.warm_start or not self.initialized_:
                self._fit_input_scaling(videos)
                with self._quiet():  # no "Re-initializing module" on a refit
                    self.initialize()
                self._on_initialized(videos, y)
            with self._epoch_bar():
                super().partial_fit(videos, y)
        return self

    @contextlib.contextmanager
    def _quiet(self):
        """skorch's own messages off for a block (``verbose`` restored after)."""
        verbose, self.verbose = self.verbose, 0
        try:
            yield
        finally:
            self.verbose = verbose

    def _shows_progress(self):
        if self.progress_bar == "auto":
            # skorch's epoch log replaces the bar; a search's fits stay quiet
            return not self.verbose and not in_sklearn_call()
        return bool(self.progress_bar)

    @contextlib.contextmanager
    def _epoch_bar(self):
        """One tqdm bar over the epochs of this call (see ``progress_bar``)."""
        if not self._shows_progress():
            yield
            return
        from tqdm.auto import tqdm

        self._epoch_bar_ = tqdm(total=self.max_epochs, desc=type(self).__name__,
                                unit="epoch", leave=True, dynamic_ncols=True)
        try:
            yield
        finally:
            bar = self.__dict__.pop("_epoch_bar_")
            bar.total = bar.n  # early stopping: the bar ends full at the last epoch
            bar.close()

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_epoch_bar_", None)  # a pickle or Checkpoint during fit
        return state

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_end(net, dataset_train, dataset_valid, **kwargs)
        bar = self.__dict__.get("_epoch_bar_")
        if bar is not None:
            # the net's own hook runs before skorch's scoring callbacks, so the
            # epoch's losses are read from its batches (mean over batches)
            batches = self.history[-1].get("batches", [])
            losses = {}
            for key in ("train_loss", "valid_loss"):
                values = [b[key] for b in batches if key in b]
                if values:
                    losses[key] = f"{np.mean(values):.4g}"
            bar.set_postfix(losses, refresh=False)
            bar.update(1)

    def fit_loop(self, X, y=None, *args, **kwargs):
        """skorch's training loop, which warns when it is interrupted.

        skorch ends ``fit`` quietly on ``KeyboardInterrupt`` (Ctrl-C); the
        estimator then holds the weights reached so far. This says so, with
        the number of epochs completed, before skorch swallows the interrupt.
        """
        try:
            return super().fit_loop(X, y, *args, **kwargs)
        except KeyboardInterrupt:
            if any(isinstance(cb, EarlyStopping) and cb.misses_ >= cb.patience
                   for _, cb in getattr(self, "callbacks_", [])):
                raise  # skorch's EarlyStopping ends training this way: no warning
            done = sum("train_loss" in row for row in self.history)
            warnings.warn(
                f"{type(self).__name__}.fit was interrupted (KeyboardInterrupt) after "
                f"{done} completed epoch(s); the estimator keeps the weights reached so "
                "far and can score. Call partial_fit to train further.",
                UserWarning,
                stacklevel=2,
            )
            raise

    def _fit_input_scaling(self, videos):
        """Per-feature mean and scale over every row (and crop) ``fit`` sees."""
        if self.input_scaling is None:
            self._input_stats = None
            return
        mean, var, _ = _pooled_mean_var(v.reshape(-1, v.shape[-1]) for v in videos)
        scale = np.sqrt(var)
        scale[scale < 10 * np.finfo(np.float64).eps] = 1.0
        self._input_stats = (mean, scale)  # moved onto the module by initialize()

    def scale_batch(self, X):
        """The padded batch ``X`` (dict of ``x``, ``mask``) as the module sees it.

        With ``input_scaling="standard"`` every real row is standardised with
        the statistics of the training rows; padded rows stay 0.
        """
        X = to_tensor(X, device=self.device)
        mean = _buffers(self.module_).get("input_mean")  # the statistics of fit, if any
        if mean is None:
            return X
        x, mask = X["x"], X["mask"]
        # (x - mean) / scale: the subtraction first (features may share a large
        # offset), then one in-place product with 1 / scale
        inv = (1.0 / _buffers(self.module_)["input_scale"]).to(dtype=x.dtype, device=x.device)
        x = (x - mean.to(dtype=x.dtype, device=x.device)).mul_(inv)
        if not bool(mask.all()):  # padded rows back to 0
            x.mul_(mask.reshape(*mask.shape, *[1] * (x.ndim - 2)).to(x.dtype))
        return {**X, "x": x}

    def infer(self, x, **fit_params):
        return super().infer(self.scale_batch(x), **fit_params)

    def _on_initialized(self, videos, y):
        """Hook run once after the module is built, before training, with the
        validated training data (e.g. to initialise prototypes from it)."""

    def _check_training_data(self, X, y, n_features=None):
        videos = check_videos(X, n_features=n_features, allow_crops=self._accepts_crops,
                              compute_dtype=np.float32)
        y = check_video_labels(y, n_videos=len(videos))
        check_both_classes(y, type(self).__name__)
        return videos, y

    def partial_fit(self, X, y=None, classes=None):
        """Continue training for ``max_epochs`` more epochs (skorch semantics).

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)
        y : array-like of shape (n_videos,)
        classes : ignored

        Returns
        -------
        self : object
        """
        if not self.initialized_:
            return self.fit(X, y)
        _check_device(self.device)
        videos, y = self._check_training_data(X, y, n_features=self.n_features_in_)
        # a fresh seed for this call, derived from the fit's seed and the epochs
        # done so far: identical calls give identical weights, and the global
        # torch RNG is left as it was
        seed = np.random.SeedSequence([self.training_seed_, len(self.history_)])
        self.training_seed_ = int(seed.generate_state(1)[0] % np.iinfo(np.int32).max)
        with torch_threads(self.n_threads), _forked_torch_rng(self.training_seed_, self.device):
            with self._epoch_bar():
                super().partial_fit(videos, y)
        return self

    # ---- prediction ----------------------------------------------------------
    def _batch_scores(self, output):
        """Per-clip scores (b x t) from the module's output."""
        return output["scores"]

    def score_clips(self, X):
        """Anomaly score of every row (clip or snippet) of every video.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)

        Returns
        -------
        scores : list of ndarray of shape (n_clips_i,)
            Higher = more anomalous. Padding of the batches never changes a
            video's scores. For a multi-crop video (models that accept
            crops), a clip's score is the mean over its crops.
        """
        return self._per_clip(X, self._batch_scores)

    def _per_clip(self, X, extract):
        """``extract(module output)`` (b x t x ...) of every clip of every video,
        through the validation, pieces, batching and crop means of
        :meth:`score_clips`."""
        self.check_is_fitted()
        _check_device(self.device)  # e.g. set as an attribute, or a pickle from a GPU machine
        videos = check_videos(X, n_features=self.n_features_in_, allow_crops=self._accepts_crops,
                              compute_dtype=np.float32)
        with torch_threads(self.n_threads):
            return self._per_clip_checked(videos, extract)

    def _per_clip_checked(self, videos, extract):
        bags, owner = _split_crops(videos)
        bag_scores = [None] * len(bags)
        halo = self._score_halo()
        stream = self._streams() and extract == self._batch_scores
        # models with a global part score long bags in two passes (_stream_bag)
        streamed = [i for i, bag in enumerate(bags) if stream and len(bag) > _STREAM_CHUNK_CLIPS]
        for i in streamed:
            bag_scores[i] = self._stream_bag(bags[i])
        rest = [i for i in range(len(bags)) if bag_scores[i] is None]
        pieces, keep = _chunk_bags([bags[i] for i in rest], halo, self._score_piece_clips())
        scores = self._score_bags(pieces, extract)
        for i, parts in zip(rest, keep):
            bag_scores[i] = (scores[parts[0][0]][parts[0][1]] if len(parts) == 1 else
                             np.concatenate([scores[j][cut] for j, cut in parts]))
        for i, scores in enumerate(bag_scores):
            if not np.isfinite(scores).all():
                clip = int(np.flatnonzero(~np.isfinite(scores))[0])
                raise FloatingPointError(
                    f"{type(self).__name__} scored video {owner[i]} non-finite (first at "
                    f"clip {clip}): the computation overflowed float32. Its features "
                    "are too large for the model; rescale them as in training (e.g. "
                    "input_scaling='standard', the default, or ClipStandardScaler)."
                )
        if len(bags) == len(videos):
            return bag_scores
        # multi-crop videos: a clip's score is the mean over its crops
        per_video = [[] for _ in videos]
        for i, scores in zip(owner, bag_scores):
            per_video[i].append(scores)
        return [np.mean(s, axis=0) for s in per_video]

    def _score_halo(self):
        """Clips of context on each side that a clip's score depends on.

        None (the default): the whole video (global attention, a graph, a
        non-local block); such a video is scored in one piece, or, when
        longer than ``_STREAM_CHUNK_CLIPS`` and the module can, in passes over
        it (:meth:`_stream_bag`). An integer lets :meth:`score_clips` score a
        long video in overlapping pieces of :meth:`_score_piece_clips` clips
        with that many clips of context each side: the same scores, memory
        bounded by the piece.
        """
        return None

    def _score_piece_clips(self):
        """Clips per scoring batch, and per piece of a long video scored in
        pieces (see :meth:`_score_halo`)."""
        return _SCORE_CHUNK_CLIPS

    def _streams(self):
        """Whether the module scores long bags in pieces itself: a
        ``stream_scores(read, n_clips, chunk)`` method (see :meth:`_stream_bag`)."""
        return callable(getattr(getattr(self.module_, "_orig_mod", self.module_),
                                "stream_scores", None))

    def _stream_bag(self, bag):
        """Scores of one long bag (2-D) by the module's ``stream_scores``.

        Models whose scores depend on the whole video (a non-local block,
        global attention, a graph) cannot be scored in independent pieces;
        their module instead reads the bag piece by piece, as many times as
        its architecture needs, through ``read(start, stop)`` (the rows
        ``start..stop-1`` as the module sees them: float32, scaled, on the
        device, shape ``1 x rows x d``), and returns the ``n_clips`` scores.
        Memory then grows linearly with the video's length whatever the model
        (pieces of :meth:`_stream_piece_clips` clips plus a few arrays of one
        hidden layer's width per clip), and a memory-mapped video is never
        read into memory whole.
        """
        module = getattr(self.module_, "_orig_mod", self.module_)

        def read(start, stop):
            x = torch.from_numpy(np.array(bag[start:stop], dtype=np.float32))[None]
            mask = torch.ones(1, stop - start, dtype=torch.bool)
            return self.scale_batch({"x": x, "mask": mask})["x"]

        self._set_training(False)
        with torch.no_grad():
            scores = module.stream_scores(read, len(bag), self._stream_piece_clips())
        return scores.detach().to("cpu", torch.float64).numpy()

    def _stream_piece_clips(self):
        """Clips per piece in :meth:`_stream_bag`."""
        return _STREAM_CHUNK_CLIPS

    def _score_bags(self, bags, extract=None):
        """Scores of every bag (2-D), batching bags of equal length only."""
        if not bags:
            return []
        # bags sorted by length, batched with bags of the same length only
        lengths = np.array([len(b) for b in bags])
        order = np.argsort(lengths, kind="stable")
        sorted_scores = []
        groups = []
        for group in _low_padding_groups(lengths[order]):
            # long bags: at most _score_piece_clips() rows per batch (or one bag)
            per_batch = max(1, self._score_piece_clips() // int(lengths[order[group.stop - 1]]))
            groups.extend(slice(start, min(start + per_batch, group.stop))
                          for start in range(group.start, group.stop, per_batch))
        for group in groups:
            dataset = VideoDataset([bags[i] for i in order[group]])
            for batch in self.get_iterator(dataset, training=False):
                with torch.no_grad():
                    scores = (extract or self._batch_scores)(self.evaluation_step(batch))
                scores = scores.detach().to("cpu", torch.float64).numpy()
                real = batch[0]["mask"].sum(dim=1).tolist()
                sorted_scores.extend(s[:n].copy() for s, n in zip(scores, real))
        bag_scores = [None] * len(bags)
        for i, scores in zip(order, sorted_scores):
            bag_scores[i] = scores
        return bag_scores

    def _video_scores(self, clip_scores):
        """Video score from its clip scores (the MIL max)."""
        return np.array([s.max() for s in clip_scores])

    def decision_function(self, X):
        """Video-level anomaly score: the maximum clip score of each video.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)

        Returns
        -------
        scores : ndarray of shape (n_videos,)
        """
        return self._video_scores(self.score_clips(X))

    def predict(self, X):
        """Video labels: 1 where :meth:`decision_function` >= ``threshold``.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_videos,)
        """
        return (self.decision_function(X) >= self.threshold).astype(np.int64)

    @available_if(lambda self: self._scores_are_probabilities)
    def predict_proba(self, X):
        """Probabilities of the two video classes, from the max clip score.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)

        Returns
        -------
        proba : ndarray of shape (n_videos, 2)
        """
        p = np.clip(self.decision_function(X), 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def score(self, X, y, sample_weight=None):
        """Video-level ROC AUC of :meth:`decision_function`.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)
        y : array-like of shape (n_videos,)
        sample_weight : array-like of shape (n_videos,), default=None
            Per-video weights of the AUC (scikit-learn's ``score`` signature:
            ``Pipeline.score`` and the default scorer of a search pass it).

        Returns
        -------
        auc : float
        """
        scores = self.decision_function(X)
        y = check_video_labels(y, n_videos=len(scores))
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            if sample_weight.shape != (len(scores),):
                raise ValueError(
                    f"sample_weight has shape {sample_weight.shape} but there are "
                    f"{len(scores)} videos; give one weight per video."
                )
        return float(roc_auc_score(y, scores, sample_weight=sample_weight))

    # ---- parameters ----------------------------------------------------------
    @classmethod
    def _declared_params(cls):
        """The parameters of the estimator's own ``__init__`` signature."""
        return {name for name, p in inspect.signature(cls.__init__).parameters.items()
                if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}

    @classmethod
    def _skorch_defaults(cls):
        """skorch's own parameters that ``cls.__init__`` does not declare, with
        the values a default instance holds (empty for a class that cannot be
        built without arguments: every parameter is then listed)."""
        cached = cls.__dict__.get("_skorch_defaults_cache")
        if cached is None:
            try:
                default = cls()
            except TypeError:  # a class whose module or criterion has no default
                cached = {}
            else:
                declared = cls._declared_params()
                cached = {k: v for k, v in vars(default).items()
                          if not k.endswith("_") and not k.startswith("_") and "__" not in k
                          and k not in declared}
            cls._skorch_defaults_cache = cached
        return cached

    def get_params(self, deep=True, **kwargs):
        """Parameters of the estimator: its own, and skorch's where set.

        skorch's ``NeuralNet`` parameters that the estimator does not declare
        (``train_split``, ``callbacks``, ``iterator_train``, ``warm_start``,
        ...) are listed only when they differ from their defaults, so reprs
        and ``clone`` show what the user set; all of them remain settable
        through the constructor's ``**kwargs`` and :meth:`set_params`.
        """
        params = super().get_params(deep=deep, **kwargs)
        # private attributes (skorch's _params_to_validate, fitted state such as
        # _input_stats) are not parameters: __init__ rebuilds them
        params = {k: v for k, v in params.items() if not k.startswith("_")}
        for name, default in self._skorch_defaults().items():
            if name in params and _same_default(params[name], default):
                del params[name]
        return params

    def _get_params_html(self, deep=True, **kwargs):
        # the HTML repr's table: the estimator's parameters, not every setting of
        # skorch's default callbacks (callbacks__print_log__..., still settable)
        return super()._get_params_html(deep=False, **kwargs)

    def set_params(self, **params):
        if "device" in params:
            _check_device(params["device"])  # before anything changes
        # skorch parameters at their defaults are not in get_params (see there);
        # skorch sets these plain ones as attributes, as done here
        plain = [k for k in params if k in self._skorch_defaults()
                 and not any(k.startswith(prefix) for prefix in self.prefixes_)]
        for key in plain:
            setattr(self, key, params.pop(key))
        super().set_params(**params)
        # skorch does not move a fitted module when only the device changes
        if "device" in params and getattr(self, "initialized_", False):
            self.module_.to(self.device)
            self.criterion_.to(self.device)
        return self
