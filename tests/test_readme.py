"""The README's quick start runs as written."""

import re
from pathlib import Path

import sklearn

README = Path(__file__).resolve().parents[1] / "README.md"


def test_quick_start_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python block"
    namespace = {}
    try:
        exec(compile(blocks[0], "README.md", "exec"), namespace)
    finally:
        sklearn.set_config(enable_metadata_routing=False)
    assert set(namespace["search"].best_params_) == {"featurenormclusterundersampler__n_top"}
    assert len(namespace["clip_scores"]) == 120
