"""Sphinx configuration of the skdigits documentation.

Build it from the repository root (offline is fine; MNIST is read from the
scikit-learn data home, so set ``SCIKIT_LEARN_DATA`` where it lives)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Add ``-D plot_gallery=0`` to skip running the examples (a quick build of the
text only). Set ``SKDIGITS_DOCS_OFFLINE=1`` to skip intersphinx entirely.
"""

import os
import re
import sys
import threading
import urllib.request
from datetime import date

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "sphinxext"))
# The package itself, when it is not installed (e.g. PYTHONPATH not set).
sys.path.insert(0, os.path.dirname(HERE))

# Quieter TensorFlow in the build log; the examples run in this process.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import skdigits

# -- Project information -------------------------------------------------------

project = "skdigits"
author = "The skdigits developers"
copyright = f"{date.today().year}, {author}"
release = skdigits.__version__
version = ".".join(release.split(".")[:2])

# -- General configuration -----------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    # The benchmarks page draws the committed results (benchmarks/results)
    # with benchmarks/plot_front.py at build time: the figure and the JSON
    # cannot disagree.
    "matplotlib.sphinxext.plot_directive",
]
plot_working_directory = os.path.join(os.path.dirname(HERE), "benchmarks")
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 120)]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    # sphinx-gallery writes these; they are included where they are needed.
    "auto_examples/**/*.ipynb",
    "auto_examples/**/*.py",
    "auto_examples/**/*.zip",
    "auto_examples/**/*.codeobj.json",
    "auto_examples/**/*.md5",
]
root_doc = "index"
default_role = "literal"
pygments_style = "sphinx"

# -- autodoc / autosummary / numpydoc -------------------------------------------

autosummary_generate = True
autodoc_typehints = "none"  # types are in the numpydoc sections
autodoc_member_order = "alphabetical"
autodoc_inherit_docstrings = True

# numpydoc renders the sections; the class template lists the members itself.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# -- intersphinx ---------------------------------------------------------------
#
# Links to other projects' documentation. The build must work offline (CI has
# no internet), and Sphinx reports an inventory it cannot fetch as a warning,
# which -W turns into an error. So each inventory is probed first, in
# parallel and with a short timeout, and only the reachable ones are used.
# Keras 3 (keras.io) publishes no Sphinx inventory; TensorFlow's is the one
# the community maintains.

_INVENTORIES = {
    "python": ("https://docs.python.org/3/", None),
    "numpy": ("https://numpy.org/doc/stable/", None),
    "scipy": ("https://docs.scipy.org/doc/scipy/", None),
    "matplotlib": ("https://matplotlib.org/stable/", None),
    "sklearn": ("https://scikit-learn.org/stable/", None),
    "joblib": ("https://joblib.readthedocs.io/en/stable/", None),
    "PIL": ("https://pillow.readthedocs.io/en/stable/", None),
    "scikeras": ("https://adriangb.com/scikeras/stable/", None),
    "tensorflow": (
        "https://www.tensorflow.org/api_docs/python",
        "https://github.com/GPflow/tensorflow-intersphinx/raw/master/tf2_py_objects.inv",
    ),
}
_PROBE_TIMEOUT = 4.0


def _reachable(inventories, timeout):
    """The inventories whose ``objects.inv`` answers within ``timeout`` seconds.

    Probes run in daemon threads, so a stuck name lookup (which socket
    timeouts do not cover) neither delays the build past ``timeout`` nor
    keeps the process alive at exit.
    """
    if os.environ.get("SKDIGITS_DOCS_OFFLINE", "") not in ("", "0"):
        return {}
    ok = {}

    def probe(name, url, inventory):
        location = inventory or url.rstrip("/") + "/objects.inv"
        request = urllib.request.Request(
            location, headers={"User-Agent": "skdigits-docs"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read(1)
        except Exception:  # noqa: BLE001 - any failure means "not reachable"
            return
        ok[name] = (url, inventory)

    threads = [
        threading.Thread(target=probe, args=(name, *target), daemon=True)
        for name, target in inventories.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return dict(ok)


intersphinx_mapping = _reachable(_INVENTORIES, _PROBE_TIMEOUT)
intersphinx_timeout = 10
if len(intersphinx_mapping) < len(_INVENTORIES):
    print(
        "intersphinx: not reachable, no links to: "
        + ", ".join(sorted(set(_INVENTORIES) - set(intersphinx_mapping)))
    )

# -- sphinx-gallery ------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Each class and function page lists the examples that use it.
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("skdigits",),
    "filename_pattern": r"/plot_",  # files without the prefix are shown only
    "subsection_order": [
        "../examples/mnist",
        "../examples/pipelines",
        "../examples/model_persistence",
        "../examples/reading",
        "../examples/scaling",
    ],
    "within_subsection_order": "FileNameSortKey",
    # Free Keras' global state (graphs, layer names) between examples.
    "reset_modules": ("matplotlib", "gallery_utils.reset_keras"),
    "remove_config_comments": True,
    # Show estimators' HTML diagrams, not the text repr of every last value
    # (the Text of a set_title, a Display object).
    "capture_repr": ("_repr_html_",),
    "min_reported_time": 0,
    "show_memory": False,
    "download_all_examples": False,
}

# -- HTML output ---------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skdigits {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
    # No icon links or version switcher: they would fetch from the internet.
}
html_sidebars = {
    # Pages without a left sidebar, as in scikit-learn's site.
    "index": [],
    "getting_started": [],
    "benchmarks": [],
    "changelog": [],
}
html_show_sourcelink = True
html_copy_source = True


# -- Inherited docstrings --------------------------------------------------------
#
# The class pages list inherited members (``score``, ``set_params``, the
# metadata-routing ``set_*_request`` methods, ...) whose docstrings come from
# scikit-learn and cross-reference labels and glossary terms of scikit-learn's
# own site (``:ref:`metadata_routing```, ``:term:`meta-estimator```). Without
# scikit-learn's inventory (offline) those would be broken references, which
# -W turns into errors: such roles in docstrings not written in skdigits are
# turned into plain text then.

_FOREIGN_ROLE = re.compile(r":(?:ref|term):`([^`<]*?)\s*(?:<([^`>]*)>)?`")


def _unlink_foreign_references(app, what, name, obj, options, lines):
    if "sklearn" in app.config.intersphinx_mapping:
        return
    module = getattr(obj, "__module__", None) or ""
    if module == "skdigits" or module.startswith("skdigits."):
        return
    text = "\n".join(lines)
    plain = _FOREIGN_ROLE.sub(lambda m: m.group(1).strip() or m.group(2), text)
    if plain != text:
        lines[:] = plain.split("\n")


def _defining_module(obj):
    function = getattr(obj, "fget", None) or getattr(obj, "__func__", None) or obj
    return getattr(function, "__module__", None) or ""


def _skip_scikeras_internals(app, what, name, obj, skip, options):
    """Leave out what scikeras' wrapper defines for its subclasses' authors.

    ``initialize``, ``scorer``, ``current_epoch``, ``feature_encoder``,
    ``target_encoder``, ``initialized_``... are public in scikeras so that a
    subclass such as CNNDigitClassifier can build on them; a user of the
    classifier needs none of them. What skdigits or scikit-learn define
    (``fit``, ``score``, ``get_params``, ``set_fit_request``...) stays.
    """
    if _defining_module(obj).startswith("scikeras"):
        return True
    return None


def setup(app):
    app.connect("autodoc-process-docstring", _unlink_foreign_references)
    app.connect("autodoc-skip-member", _skip_scikeras_internals)
