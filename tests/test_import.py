import subprocess
import sys

_BLOCK_TORCH = """
import importlib.abc, sys

class _NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "skorch"):
            raise ImportError(f"{name} is blocked for this test")
        return None

sys.meta_path.insert(0, _NoTorch())
"""


def test_top_level_import_does_not_need_torch():
    code = _BLOCK_TORCH + (
        "import sklearn_wsvad, sklearn_wsvad.refine, sklearn_wsvad.metrics\n"
        "import sklearn_wsvad.datasets, sklearn_wsvad.plotting, sklearn_wsvad.cli\n"
        "assert 'torch' not in sys.modules\n"
        "try:\n"
        "    import sklearn_wsvad.models\n"
        "except ImportError:\n"
        "    pass\n"
        "else:\n"
        "    raise SystemExit('models imported without torch')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
