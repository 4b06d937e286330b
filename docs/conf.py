"""Sphinx configuration: numpydoc API pages and a sphinx-gallery of the examples."""

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
exclude_patterns = ["_build"]
