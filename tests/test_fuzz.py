"""Property-based fuzzing (hypothesis) of the refinement steps, the metrics and
one small model: for any valid input, finite outputs of the documented shapes
and no mutation of the input; for damaged input, only the documented
``ValueError``. Derandomised and bounded (about 20 s in all) for CI."""

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from sklearn_wsvad import SnippetReformer  # noqa: E402
from sklearn_wsvad.metrics import (  # noqa: E402
    detection_map,
    equal_error_rate,
    expand_clip_scores,
    frame_average_precision_score,
    frame_equal_error_rate,
    frame_roc_auc_score,
)
from sklearn_wsvad.refine import (  # noqa: E402
    ClipNormalizer,
    ClipStandardScaler,
    FeatureNormClusterUndersampler,
)

FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=60,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

#: magnitudes up to 1e30: far beyond real features, within float32
_ELEMENTS = {
    np.float32: st.floats(float(np.float32(-1e30)), float(np.float32(1e30)), width=32,
                          allow_nan=False, allow_infinity=False),
    np.float64: st.floats(-1e30, 1e30, allow_nan=False, allow_infinity=False),
}


@st.composite
def video_sets(draw, max_videos=4, max_clips=40, max_features=5, crops=False):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    d = draw(st.integers(1, max_features))
    n_crops = draw(st.integers(1, 3)) if crops else None
    videos = []
    for _ in range(draw(st.integers(1, max_videos))):
        n = draw(st.integers(1, max_clips))
        shape = (n, d) if n_crops is None else (n, n_crops, d)
        # mostly ordinary values, some videos with extreme or repeated ones
        kind = draw(st.sampled_from(["normal", "normal", "extreme", "constant"]))
        if kind == "extreme":
            video = draw(hnp.arrays(dtype, shape, elements=_ELEMENTS[dtype]))
        else:
            seed = draw(st.integers(0, 2**16))
            video = np.random.default_rng(seed).normal(size=shape).astype(dtype)
            if kind == "constant":
                video[:] = video[:1]
        videos.append(video)
    return videos


def _assert_unchanged(videos, copies):
    for v, c in zip(videos, copies):
        np.testing.assert_array_equal(v, c)


@FUZZ
@given(videos=video_sets(crops=True), n_snippets=st.integers(1, 12),
       boundaries=st.sampled_from(["round", "floor", "sultani"]))
def test_reformer_pools_any_valid_videos(videos, n_snippets, boundaries):
    copies = [v.copy() for v in videos]
    reformer = SnippetReformer(n_snippets=n_snippets, boundaries=boundaries, inference="snippets")
    out = reformer.fit_transform(videos)
    _assert_unchanged(videos, copies)
    for v, o in zip(videos, out):
        assert o.shape == (n_snippets, *v.shape[1:]) and o.dtype == v.dtype
        assert np.isfinite(o).all()
        # a mean lies within its clips' range, feature by feature (to rounding)
        high, low = v.max(axis=0), v.min(axis=0)
        tol = 4 * np.finfo(v.dtype).eps * np.maximum(np.abs(high), np.abs(low))
        assert (o <= high + tol).all() and (o >= low - tol).all()
    index = reformer.transform_index(videos)
    assert [len(i) for i in index] == [len(v) for v in videos]


@FUZZ
@given(videos=video_sets(crops=True), norm=st.sampled_from(["l2", "l1", "max"]))
def test_normalizer_gives_unit_norms_for_any_valid_videos(videos, norm):
    copies = [v.copy() for v in videos]
    out = ClipNormalizer(norm=norm).fit_transform(videos)
    _assert_unchanged(videos, copies)
    order = {"l2": 2, "l1": 1, "max": np.inf}[norm]
    for v, o in zip(videos, out):
        assert np.isfinite(o).all()
        norms = np.linalg.norm(o.astype(np.float64), ord=order, axis=-1)
        nonzero = np.abs(v).max(axis=-1) > 0
        np.testing.assert_allclose(norms[nonzero], 1.0, rtol=1e-4)


@FUZZ
@given(videos=video_sets(crops=True))
def test_standard_scaler_for_any_valid_videos(videos):
    copies = [v.copy() for v in videos]
    out = ClipStandardScaler().fit(videos).transform(videos)
    _assert_unchanged(videos, copies)
    assert all(np.isfinite(o).all() for o in out)


@FUZZ
@given(videos=video_sets(), n_clusters=st.integers(2, 6), data=st.data())
def test_undersampler_keeps_clips_of_every_video(videos, n_clusters, data):
    n_top = data.draw(st.integers(1, n_clusters - 1))
    y = np.array(data.draw(st.lists(st.integers(0, 1), min_size=len(videos),
                                    max_size=len(videos))))
    copies = [v.copy() for v in videos]
    step = FeatureNormClusterUndersampler(n_clusters=n_clusters, n_top=n_top, random_state=0)
    out = step.fit_transform(videos, y)
    _assert_unchanged(videos, copies)
    for v, o in zip(videos, out):
        assert 1 <= len(o) <= len(v) and o.shape[1:] == v.shape[1:]
        assert np.isfinite(o).all()


@FUZZ
@given(videos=video_sets(max_videos=3, max_clips=12), where=st.data())
def test_damaged_videos_get_the_documented_error(videos, where):
    i = where.draw(st.integers(0, len(videos) - 1))
    clip = where.draw(st.integers(0, len(videos[i]) - 1))
    bad = [v.copy() for v in videos]
    bad[i][clip, 0] = where.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    for step in (SnippetReformer(n_snippets=4), ClipStandardScaler(), ClipNormalizer(),
                 FeatureNormClusterUndersampler(n_clusters=2, n_top=1)):
        with pytest.raises(ValueError, match=f"Video {i} contains NaN or infinity"):
            step.fit_transform(bad, np.zeros(len(bad), dtype=int))


@st.composite
def scored_videos(draw):
    n_videos = draw(st.integers(1, 5))
    labels, scores = [], []
    for _ in range(n_videos):
        n = draw(st.integers(1, 8))
        scores.append(np.array(draw(st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n))))
        labels.append(np.array(draw(st.lists(st.integers(0, 1), min_size=2 * n,
                                             max_size=2 * n))))
    return labels, scores


@FUZZ
@given(data=scored_videos())
def test_frame_metrics_are_in_range_or_say_why_not(data):
    labels, scores = data
    both = np.concatenate(labels).min() != np.concatenate(labels).max()
    for metric in (frame_roc_auc_score, frame_average_precision_score, frame_equal_error_rate):
        if not both:
            with pytest.raises(ValueError, match="both normal and abnormal"):
                metric(labels, scores, frames_per_clip=2)
            continue
        value = metric(labels, scores, frames_per_clip=2)
        assert 0.0 <= value <= 1.0
    frames = expand_clip_scores(scores, [len(lab) for lab in labels], frames_per_clip=2)
    assert [len(f) for f in frames] == [len(lab) for lab in labels]
    if both:
        y, s = np.concatenate(labels), np.concatenate(frames)
        assert equal_error_rate(y, s) == frame_equal_error_rate(labels, scores,
                                                                 frames_per_clip=2)


@st.composite
def detection_cases(draw):
    """Class scores of a few videos and anomaly segments within their frames."""
    n_classes = draw(st.integers(2, 4))
    fpc = draw(st.integers(1, 16))
    scores, segments = [], []
    for _ in range(draw(st.integers(1, 4))):
        n = draw(st.integers(1, 12))
        kind = draw(st.sampled_from(["random", "random", "constant", "ties"]))
        x = np.random.default_rng(draw(st.integers(0, 2**16))).random((n, n_classes))
        if kind == "constant":
            x[:] = x[:1]
        elif kind == "ties":
            x = np.round(x, 1)
        rows = []
        for _ in range(draw(st.integers(0, 2))):
            start = draw(st.integers(0, n * fpc - 1))
            stop = draw(st.integers(start + 1, n * fpc))
            rows.append((draw(st.integers(1, n_classes - 1)), start, stop))
        scores.append(x)
        segments.append(rows)
    return segments, scores, fpc


@FUZZ
@given(case=detection_cases(), normal=st.sampled_from(["evaluate", "exclude", "zero"]))
def test_detection_map_is_in_range_for_any_valid_case(case, normal):
    segments, scores, fpc = case
    copies = [s.copy() for s in scores]
    values = detection_map(segments, scores, frames_per_clip=fpc, normal=normal)
    assert values.shape == (5,) and ((values >= 0) & (values <= 1)).all()
    _assert_unchanged(scores, copies)


@settings(derandomize=True, database=None, deadline=None, max_examples=8,
          suppress_health_check=[HealthCheck.too_slow])
@given(videos=video_sets(max_videos=6, max_clips=12, max_features=4))
def test_a_small_model_scores_any_valid_videos(videos):
    from sklearn_wsvad.models import MagnitudeMILDetector

    y = np.arange(len(videos)) % 2
    if len(videos) < 2:
        with pytest.raises(ValueError, match="both"):
            MagnitudeMILDetector(max_epochs=1).fit(videos, y)
        return
    copies = [v.copy() for v in videos]
    model = MagnitudeMILDetector(max_epochs=1, batch_size=4, random_state=0)
    scores = model.fit(videos, y).score_clips(videos)
    _assert_unchanged(videos, copies)
    assert [len(s) for s in scores] == [len(v) for v in videos]
    assert all(np.isfinite(s).all() for s in scores)
