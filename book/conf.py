"""Sphinx configuration of the course website (book/build.py copies it into the source folder)."""

from pathlib import Path

HERE = Path(__file__).resolve().parent

project = "torch-course"
author = "the torch-course authors"
copyright = "the torch-course authors; code MIT, lesson text CC BY 4.0"
language = "en"

extensions = ["myst_nb"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}

# the notebooks arrive executed (fast mode); the site shows their outputs and never runs them
nb_execution_mode = "off"
nb_output_stderr = "show"
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_title = "torch-course"
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
}
html_last_updated_fmt = None
html_copy_source = False

# MathJax from the set-up's npm copy when it is there (the site then renders maths offline)
if (HERE / "_static" / "mathjax" / "tex-mml-chtml.js").exists():
    html_static_path = ["_static"]
    mathjax_path = "mathjax/tex-mml-chtml.js"
