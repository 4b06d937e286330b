"""Loaders and ground truth on the real list and annotation files (tests/data).

Feature files are written small (d = 4, few crops) under the names the real
lists give, in each layout, into a temporary folder.
"""

import pickle

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_wsvad import (
    ClipStandardScaler,
    FeatureNormClusterUndersampler,
    SnippetReformer,
    make_frame_scorer,
)
from sklearn_wsvad.datasets import (
    fit_to_clips,
    load_features,
    load_shanghaitech,
    load_ucf_crime,
    load_xd_violence,
    shanghaitech_frame_labels,
    ucf_crime_frame_labels,
    video_name,
    xd_violence_frame_labels,
)
from sklearn_wsvad.models import MagnitudeMILDetector, RTFMDetector
from sklearn_wsvad.utils import LazyVideos

from ..benchmark_files import DATA, D, lines, ucf_frames


@pytest.fixture
def home(benchmark_home):
    return benchmark_home


def test_rtfm_layout_with_windows_paths_and_crop_modes(home):
    ucf = home / "ucf_crime"
    entries = lines(ucf / "ucf-i3d-test.list")
    assert entries[0].startswith("G:\\")
    frames = ucf_frames()
    data = load_features(ucf / "ucf-i3d-test.list", root=ucf, labels="ucf-crime")
    assert len(data.videos) == len(entries) == 290
    assert data.names[0] == "Abuse028_x264" and data.layout == "rtfm"
    assert (data.n_crops, data.n_features) == (3, D)
    assert data.n_clips.tolist() == [frames[n] // 16 for n in data.names]
    assert data.target.sum() == 140 and (data.target == 0).sum() == 150
    assert isinstance(data.videos, LazyVideos)
    raw = np.load(data.files[13][0])
    video = data.videos[13]
    np.testing.assert_allclose(video, raw.mean(axis=1), rtol=1e-6)
    stacked = load_features(ucf / "ucf-i3d-test.list", root=ucf, crops="stack")
    first = load_features(ucf / "ucf-i3d-test.list", root=ucf, crops="first")
    assert isinstance(stacked.videos[13], np.memmap)
    np.testing.assert_array_equal(stacked.videos[13], raw)
    np.testing.assert_array_equal(first.videos[13], raw[:, 0])
    eager = load_features(ucf / "ucf-i3d-test.list", root=ucf, crops="stack", mmap=False)
    assert not isinstance(eager.videos[13], np.memmap)


def test_per_crop_layout_groups_crops_in_order(home):
    ucf = home / "ucf_crime"
    data = load_features(ucf / "UCF_Test.list", root=ucf, labels="ucf-crime", crops="stack")
    assert data.layout == "per_crop" and data.n_crops == 10 and len(data.names) == 290
    assert [f.name for f in data.files[0]] == [f"Abuse028_x264__{k}.npy" for k in range(10)]
    video = data.videos[0]
    assert video.shape == (data.n_clips[0], 10, D)
    np.testing.assert_array_equal(video[:, 7], np.load(data.files[0][7]))
    mean = load_features(ucf / "UCF_Test.list", root=ucf, crops="mean").videos[0]
    np.testing.assert_allclose(mean, video.mean(axis=1), rtol=1e-6)
    # the same videos in the same order as the RTFM list
    rtfm = load_features(ucf / "ucf-i3d-test.list", root=ucf)
    assert rtfm.names == data.names


def test_folder_source_and_label_rules(home, tmp_path):
    for i, name in enumerate(["Normal_Videos_1_x264", "Abuse1_x264", "Arson3_x264"]):
        np.save(tmp_path / f"{name}_i3d.npy", np.full((4, 2, D), i, dtype=np.float32))
    data = load_features(tmp_path, labels="ucf-crime")
    assert data.names == ["Abuse1_x264", "Arson3_x264", "Normal_Videos_1_x264"]
    assert data.target.tolist() == [1, 1, 0]
    assert load_features(tmp_path, labels=[0, 1, 1]).target.tolist() == [0, 1, 1]
    by_call = load_features(tmp_path, labels=lambda name: int(name.startswith("A")))
    assert by_call.target.tolist() == [1, 1, 0]
    xd = load_features(home / "xd_violence" / "XD_Test.list", root=home / "xd_violence",
                       labels="xd-violence")
    assert xd.n_crops == 5 and len(xd.names) == 800
    assert xd.target.tolist() == [0 if "_label_A" in n else 1 for n in xd.names]
    assert xd.target.sum() == 500


def test_lazy_videos_split_search_and_pickle(home):
    ucf = home / "ucf_crime"
    data = load_features(ucf / "ucf-i3d-test.list", root=ucf, labels="ucf-crime")
    X_tr, X_te, y_tr, y_te, i_tr, i_te = train_test_split(
        data.videos, data.target, np.arange(290), test_size=0.3, stratify=data.target,
        random_state=0)
    assert isinstance(X_tr, LazyVideos) and len(X_tr) == len(y_tr)
    np.testing.assert_array_equal(X_te[3], data.videos[int(i_te[3])])
    again = pickle.loads(pickle.dumps(X_tr))
    np.testing.assert_array_equal(again[5], X_tr[5])
    frames = ucf_crime_frame_labels(data.names, ucf / "Test_Annotation_with_frame_counts.txt",
                                    n_clips=data.n_clips)
    pipe = make_pipeline(FeatureNormClusterUndersampler(n_clusters=4, n_top=1),
                         SnippetReformer(n_snippets=4), ClipStandardScaler())
    out = pipe.fit(X_tr, y_tr).transform(X_te)
    assert isinstance(out, LazyVideos) and len(out) == len(X_te)
    assert out[0].shape == X_te[0].shape
    search = GridSearchCV(
        make_pipeline(FeatureNormClusterUndersampler(n_clusters=4), SnippetReformer(n_snippets=4),
                      MagnitudeMILDetector(max_epochs=1, hidden_sizes=(4, 2), batch_size=8,
                                           random_state=0)),
        {"featurenormclusterundersampler__n_top": [1, 2]},
        scoring=make_frame_scorer("roc_auc"), cv=StratifiedKFold(2))
    with sklearn.config_context(enable_metadata_routing=True):
        search.fit(data.videos, data.target, frame_labels=frames)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_ucf_crime_ground_truth_on_the_real_annotation():
    annotation = DATA / "ucf_crime" / "Test_Annotation_with_frame_counts.txt"
    frames = ucf_frames()
    names = list(frames)
    labels = ucf_crime_frame_labels(names, annotation)
    assert [len(x) for x in labels] == [frames[n] for n in names]
    assert sum(len(x) for x in labels) == 1_111_808
    by_name = dict(zip(names, labels))
    arson = by_name["Arson022_x264"]  # Arson 3500 4000 -1 -1, 8640 frames
    assert arson[3500] == arson[4000] == 1 and arson[3499] == arson[4001] == 0
    assert arson.sum() == 501
    assert by_name["Normal_Videos_872_x264"].sum() == 0
    # two events: spot-check against the official annotation's line
    official = DATA / "ucf_crime" / "Temporal_Anomaly_Annotation_for_Testing_Videos.txt"
    two = [line.split() for line in lines(official) if line.split()[4] != "-1"]
    name, _, s1, e1, s2, e2 = two[0]
    x = by_name[video_name(name.replace(".mp4", ""))]
    s1, e1, s2, e2 = map(int, (s1, e1, s2, e2))
    assert x[s1:e1 + 1].all() and x[s2:e2 + 1].all() and x[e1 + 1:s2].sum() == 0
    # the official file has no frame counts: it needs n_clips
    with pytest.raises(ValueError, match="has no frame counts; pass n_clips"):
        ucf_crime_frame_labels(names[:2], official)
    n_clips = [frames[n] // 16 for n in names[:2]]
    short = ucf_crime_frame_labels(names[:2], official, n_clips=n_clips)
    full = ucf_crime_frame_labels(names[:2], annotation, n_clips=n_clips)
    assert [len(x) for x in short] == [16 * c for c in n_clips]
    for a, b in zip(short, full):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="no entry in"):
        ucf_crime_frame_labels(["Nope_x264"], annotation)


def test_shanghaitech_and_xd_ground_truth_on_the_real_files():
    masks = DATA / "shanghaitech" / "test_frame_mask"
    names = ["01_0015", "01_001"]  # with a mask, and a normal test video without one
    labels = shanghaitech_frame_labels(names, masks, n_clips=[433 // 16, 9])
    mask = np.load(masks / "01_0015.npy")
    np.testing.assert_array_equal(labels[0], mask[: 16 * (433 // 16)])
    assert labels[1].shape == (144,) and labels[1].sum() == 0
    full = shanghaitech_frame_labels(names[:1], masks)
    assert len(full[0]) == 433 and full[0].sum() == mask.sum() == 288
    with pytest.raises(ValueError, match="01_001 has no mask"):
        shanghaitech_frame_labels(names, masks)

    annotation = DATA / "xd_violence" / "XD_Annotation.txt"
    name = "v=GI49YSCruwY__#1_label_B4-0-0"  # 0 1410 1795 1965 2320 2980
    normal = "wangted.2008__#0-27-17_0-28-07_label_A"
    x, n = xd_violence_frame_labels([name, normal], annotation, n_clips=[200, 10])
    assert len(x) == 3200 and len(n) == 160 and n.sum() == 0
    assert x[:1411].all() and x[1411:1795].sum() == 0 and x[1795:1966].all()
    assert x[2320:2981].all() and x[2981:].sum() == 0


def test_fit_to_clips_cuts_and_pads():
    assert fit_to_clips(np.arange(5) % 2, 2, frames_per_clip=2).tolist() == [0, 1, 0, 1]
    assert fit_to_clips([1, 0, 1], 3, frames_per_clip=2).tolist() == [1, 0, 1, 1, 1, 1]


def test_benchmark_loaders(home):
    train, test = load_ucf_crime(home, layout="per_crop")
    assert train.target.tolist() == [1] * 5 + [0] * 5
    assert len(test.videos) == 290 and len(test.frame_labels) == 290
    assert [len(f) for f in test.frame_labels] == [16 * c for c in test.n_clips]
    assert sum(f.sum() > 0 for f in test.frame_labels) == 140
    train, test = load_shanghaitech(home, crops="stack")
    assert len(train.videos) == 238 and train.target[:63].all() and not train.target[63:].any()
    assert len(test.videos) == 199 and test.videos[0].ndim == 3
    masked = {p.stem for p in (home / "shanghaitech" / "test_frame_mask").glob("*.npy")}
    assert test.target.tolist() == [int(n in masked) for n in test.names]
    assert all(f.sum() == 0 for f, t in zip(test.frame_labels, test.target) if t == 0)
    train, test = load_xd_violence(home)
    assert len(train.videos) == 8 and len(test.videos) == 800
    assert [len(f) for f in test.frame_labels] == [16 * c for c in test.n_clips]


def test_missing_files_say_where_to_put_them(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"ucf-i3d.list.*Nothing is downloaded"):
        load_ucf_crime(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"missing: .*test_frame_mask"):
        load_shanghaitech(tmp_path)
    with pytest.raises(ValueError, match="available in the layouts"):
        load_ucf_crime(tmp_path, layout="x")


def _small_rtfm(folder, shapes_dtypes):
    folder.mkdir()
    for name, (shape, dtype) in shapes_dtypes.items():
        np.save(folder / f"{name}_i3d.npy", np.ones(shape, dtype=dtype))
    return folder


@pytest.mark.parametrize("files, match", [
    ({"Abuse1_x264": ((4, 2, 3), np.float32), "Normal_1_x264": ((4, 2, 5), np.float32)},
     r"Normal_1_x264_i3d.npy has 5 features but .*Abuse1_x264_i3d.npy has 3"),
    ({"Abuse1_x264": ((4, 2, 3), np.int64), "Normal_1_x264": ((4, 2, 3), np.float32)},
     r"Abuse1_x264_i3d.npy holds int64; expected float"),
    ({"Abuse1_x264": ((4,), np.float32), "Normal_1_x264": ((4, 2, 3), np.float32)},
     r"Abuse1_x264_i3d.npy has shape \(4,\)"),
    ({"Abuse1_x264": ((4, 2, 3), np.float32), "Normal_1_x264": ((4, 3, 3), np.float32)},
     r"Normal_1_x264 .* has 3 crops but the first video has 2"),
    ({"Abuse1_x264": ((4, 2, 3), np.float32), "Abuse2_x264": ((4, 2, 3), np.float32)},
     r"Label rule ucf-crime gives every video .* the label 1"),
])
def test_bad_feature_files_are_named(tmp_path, files, match):
    folder = _small_rtfm(tmp_path / "f", files)
    with pytest.raises(ValueError, match=match):
        load_features(folder, labels="ucf-crime")


def test_list_entry_matching_nothing_and_bad_labels(tmp_path):
    folder = _small_rtfm(tmp_path / "f", {"Abuse1_x264": ((4, 2, 3), np.float32)})
    listing = tmp_path / "my.list"
    listing.write_text("G:\\feats\\Abuse1_x264_i3d.npy\nG:\\feats\\Missing_x264_i3d.npy\n")
    with pytest.raises(ValueError, match=r"Line 2 of .*my.list, 'G:\\\\feats\\\\Missing"):
        load_features(listing, root=folder)
    listing.write_text("G:\\feats\\Abuse1_x264_i3d.npy\n")
    with pytest.raises(ValueError, match="labels has shape"):
        load_features(listing, root=folder, labels=[0, 1])
    with pytest.raises(ValueError, match="Unknown label rule"):
        load_features(listing, root=folder, labels="ucf")
    with pytest.raises(ValueError, match="neither a list file nor a folder"):
        load_features(tmp_path / "nope")


def test_shanghaitech_split_files_and_label_rules_agree(home):
    train, test = load_shanghaitech(home)
    sh = DATA / "shanghaitech"
    assert set(train.names) == set(lines(sh / "SH_Train.txt"))
    assert set(test.names) == set(lines(sh / "SH_Test.txt"))
    masked = {p.stem for p in (sh / "test_frame_mask").glob("*.npy")}
    # the list-position rule of the train list is the "has a mask" rule
    assert train.target.tolist() == [int(n in masked) for n in train.names]
    assert test.target.sum() == 44 and len(test.names) - test.target.sum() == 155


def test_stacked_crops_feed_rtfm_directly(home):
    train, test = load_shanghaitech(home, crops="stack")
    model = RTFMDetector(n_channels=4, hidden_sizes=(4, 2), max_epochs=1, batch_size=16,
                         random_state=0).fit(train.videos, train.target)
    scores = model.score_clips(test.videos[:5])
    assert [len(s) for s in scores] == test.n_clips[:5].tolist()
    mean = load_shanghaitech(home, crops="mean")[1]
    assert mean.videos[0].shape == (test.n_clips[0], D)


def test_a_corrupt_feature_file_is_named(tmp_path):
    (tmp_path / "Abuse1_x264_i3d.npy").write_bytes(b"not an array")
    with pytest.raises(ValueError, match=r"Abuse1_x264_i3d.npy is not a readable .npy file"):
        load_features(tmp_path)
