"""Sphinx configuration: numpydoc API pages and a sphinx-gallery of the examples."""

import functools
import importlib
import inspect
import pkgutil
import sys

import sklearn_wsvad

project = "sklearn_wsvad"
version = release = sklearn_wsvad.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
# docs/_templates/autosummary/class.rst: a class page documents the class's
# own public API only (see _own_api below)
templates_path = ["_templates"]
autosummary_generate = True
numpydoc_show_class_members = False
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
}
intersphinx_mapping = {
    "sklearn": ("https://scikit-learn.org/stable", None),
    "skorch": ("https://skorch.readthedocs.io/en/stable", None),
}
html_theme = "alabaster"
exclude_patterns = ["_build", "_templates"]

#: The estimator API: listed on a class page even when the class inherits the
#: method from skorch, scikit-learn or torch.
ESTIMATOR_API = {
    "fit",
    "partial_fit",
    "predict",
    "predict_proba",
    "decision_function",
    "score",
    "score_clips",
    "predict_proba_clips",
    "transform",
    "fit_transform",
    "get_params",
    "set_params",
    "initialize",
    "save_params",
    "load_params",
}


def _own_api(cls):
    """The public methods and properties a class page documents.

    Shown: :data:`ESTIMATOR_API` and the public methods and properties
    defined in ``sklearn_wsvad``, except those that only override a hook of
    skorch's ``NeuralNet`` or torch's ``nn.Module`` (``get_loss``,
    ``train_step``, ``train``, ...; a module's ``forward`` is shown), the
    ``set_*_request`` methods that scikit-learn generates, and methods that
    ``available_if`` hides on this class (``predict_proba`` of a model whose
    scores are not probabilities). Everything else inherited from skorch,
    torch, scikit-learn or the standard library is left out: a model
    inherits 50 public methods of skorch's ``NeuralNet``, a module 50 of
    ``nn.Module``'s.
    """
    from skorch import NeuralNet
    from torch import nn

    methods, attributes = [], []
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        owner = next((k for k in cls.__mro__ if name in vars(k)), None)
        if owner is None:
            continue
        raw = vars(owner)[name]
        if type(raw).__name__ == "RequestMethod":  # set_fit_request, ...
            continue
        if issubclass(cls, nn.Module) and name == "forward":
            pass
        elif name not in ESTIMATOR_API:
            if not owner.__module__.startswith("sklearn_wsvad"):
                continue
            if any(issubclass(owner, base) and hasattr(base, name)
                   for base in (NeuralNet, nn.Module)):
                continue
        if type(raw).__name__ == "_AvailableIfDescriptor":
            try:
                if not raw.check(cls):  # the checks read class attributes
                    continue
            except Exception:  # a check that needs a fitted instance: keep it
                pass
        if isinstance(raw, (property, functools.cached_property)):
            attributes.append(name)
        elif callable(raw) or hasattr(raw, "__get__"):  # functions, descriptors
            methods.append(name)
    return {"methods": methods, "attributes": attributes}


def _class_pages():
    """``{full name: _own_api(class)}`` for every class of every module of the
    package, under each public name it is exported as."""
    pages = {}
    for info in pkgutil.walk_packages(sklearn_wsvad.__path__, "sklearn_wsvad."):
        importlib.import_module(info.name)
    modules = [m for n, m in sorted(sys.modules.items())
               if n == "sklearn_wsvad" or n.startswith("sklearn_wsvad.")]
    for module in modules:
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and not name.startswith("_")
                    and obj.__module__.startswith("sklearn_wsvad")):
                pages[f"{module.__name__}.{name}"] = _own_api(obj)
    return pages


# read by docs/_templates/autosummary/class.rst
autosummary_context = {"own_api": _class_pages()}
