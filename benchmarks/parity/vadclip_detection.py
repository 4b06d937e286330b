"""The fine-grained mAP@IoU of the library against VadCLIP's official evaluation.

Given a local checkout of the official repository (``--repo``,
nwpu-zxr/VadCLIP), this script builds a small fixed case (6 videos of 10 to
24 clips, 3 classes: 0 normal, 1 and 2 anomalies; per-clip softmax class
scores in float32, as the official test stores ``logits2.softmax(-1)``; two
normal videos, a video with two classes, segment ends off the 16-frame grid),
scores it with the official ``getDetectionMAP`` of
``src/utils/xd_detectionMAP.py`` (the clip scores repeated 16 times to
frames, the ground truth as the official ``gt_segment`` / ``gt_label``
object arrays) and with :func:`sklearn_wsvad.metrics.segment_average_precision`,
prints both and writes the case with the official numbers to ``--out``
(default: the suite's fixture, ``tests/data/vadclip_detection_case.json``).

The official file is used with one shim, textual and asserted: its class
list (the 7 XD-Violence codes) becomes the case's 3 classes, and its loop
over ``range(0, 7)`` runs over them; two added lines record its per-class
APs. Nothing else changes.

    git clone https://github.com/nwpu-zxr/VadCLIP /tmp/VadCLIP
    python benchmarks/parity/vadclip_detection.py --repo /tmp/VadCLIP
"""

import argparse
import json
import subprocess
import types
from pathlib import Path

import numpy as np

from sklearn_wsvad.metrics import detection_map, segment_average_precision

CLASSES = ["A", "B1", "B2"]  # XD-Violence naming: A is normal
IOUS = [0.1, 0.2, 0.3, 0.4, 0.5]
# name, clips, (class, first clip, stop clip, logit) bumps, segments (frames), labels
VIDEOS = [
    ("v0_B1", 20, [(1, 6, 14, 4.0)], [(80, 240)], ["B1"]),
    ("v1_B2", 16, [(2, 2, 6, 4.5), (2, 12, 15, 3.0)], [(32, 96), (160, 224)], ["B2", "B2"]),
    ("v2_B1-B2", 24, [(1, 0, 3, 3.5), (2, 14, 20, 4.2)], [(0, 64), (256, 352)], ["B1", "B2"]),
    ("v3_normal", 12, [(1, 4, 7, 2.5)], [], []),
    ("v4_normal", 10, [], [], []),
    ("v5_B1", 18, [(1, 3, 8, 3.8), (1, 10, 12, 3.2)], [(100, 200)], ["B1"]),
]


def clip_probabilities(n_clips, video, bumps):
    """Softmax over 3 classes of smooth logits: normal high except on bumps."""
    t = np.arange(n_clips, dtype=np.float64)
    logits = np.zeros((n_clips, 3))
    logits[:, 0] = 2.0 + 0.05 * np.cos(0.7 * t + video)
    logits[:, 1] = -1.0 + 0.05 * np.sin(1.3 * t + 1 + video)
    logits[:, 2] = -1.0 + 0.05 * np.sin(1.1 * t + 2 + video)
    for c, start, stop, height in bumps:
        logits[start:stop, c] = height + 0.03 * np.cos(t[start:stop] + c)
        logits[start:stop, 0] = 0.0
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (z / z.sum(axis=1, keepdims=True)).astype(np.float32)


def official_module(repo):
    """``xd_detectionMAP`` of the checkout with the 3-class shim."""
    source = (Path(repo) / "src" / "utils" / "xd_detectionMAP.py").read_text()
    for old, new in [
        ("classlist = ['A', 'B1', 'B2', 'B4', 'B5', 'B6', 'G']", f"classlist = {CLASSES!r}"),
        ("for c in range(0, 7):", "for c in range(0, len(classlist)):"),
        ("return 100*np.mean(ap)", "RECORD[th] = list(ap)\n   return 100*np.mean(ap)"),
    ]:
        assert source.count(old) == 1, f"the official file changed: {old!r}"
        source = source.replace(old, new)
    module = types.ModuleType("official_xd_detection_map")
    module.RECORD = {}
    exec(compile(source, "xd_detectionMAP.py", "exec"), module.__dict__)  # noqa: S102
    return module


def objects(rows):
    out = np.empty(len(rows), dtype=object)
    out[:] = [list(r) for r in rows]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True, help="checkout of nwpu-zxr/VadCLIP")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "tests" / "data"
                                             / "vadclip_detection_case.json"))
    args = parser.parse_args(argv)

    scores = [clip_probabilities(n, i, bumps) for i, (_, n, bumps, _, _) in enumerate(VIDEOS)]
    # the official ground truth: normal videos one segment [0, 16 T] labelled 'A'
    gt_segments = objects([[list(s) for s in segs] or [[0, 16 * n]]
                           for _, n, _, segs, _ in VIDEOS])
    gt_labels = objects([labels or ["A"] for *_, labels in VIDEOS])
    official = official_module(args.repo)
    maps, _ = official.getDetectionMAP([np.repeat(s, 16, axis=0) for s in scores],
                                       gt_segments, gt_labels, excludeNormal=False)
    official_ap = np.array([official.RECORD[th] for th in IOUS])

    segments = [[(CLASSES.index(label), start, stop) for (start, stop), label in zip(segs, labels)]
                for _, _, _, segs, labels in VIDEOS]
    library_ap = segment_average_precision(segments, scores, iou_thresholds=IOUS)
    library_map = detection_map(segments, scores, iou_thresholds=IOUS)
    print("IoU        " + " ".join(f"{t:>8}" for t in IOUS) + "   average")
    print("official   " + " ".join(f"{m:8.4f}" for m in maps) + f"  {np.mean(maps):8.4f}")
    print("library    " + " ".join(f"{100 * m:8.4f}" for m in library_map)
          + f"  {100 * library_map.mean():8.4f}")
    print(f"largest per-class AP difference: {np.abs(library_ap - official_ap).max():.3g}")

    commit = subprocess.run(["git", "-C", args.repo, "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    case = {
        "description": (
            "A small fixed fine-grained case (6 videos, 3 classes: 0 normal, 1, 2; 16-frame "
            "clips; float32 softmax class scores per clip) scored by the official VadCLIP "
            "evaluation (src/utils/xd_detectionMAP.py getDetectionMAP, class list patched to 3 "
            "classes), as written by benchmarks/parity/vadclip_detection.py."),
        "official_commit": commit or "unknown",
        "iou_thresholds": IOUS,
        "videos": [{"name": name, "clip_scores": s.tolist(), "segments": [list(r) for r in seg]}
                   for (name, *_), s, seg in zip(VIDEOS, scores, segments)],
        "official": {"map_percent": [float(m) for m in maps],
                     "per_class_ap": official_ap.tolist()},
    }
    Path(args.out).write_text(json.dumps(case, indent=0))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
