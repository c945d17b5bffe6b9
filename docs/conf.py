"""Sphinx configuration for django-twitter-oauth."""

import os
import sys
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

from twitter_oauth import __version__  # noqa: E402

project = "django-twitter-oauth"
author = "The django-twitter-oauth authors"
copyright = "2026, " + author
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode", "myst_parser"]
# Links into Django's and Celery's docs need their inventories from the web. `make docs` builds
# offline (and in CI), so they are fetched only where DOCS_INTERSPHINX=1 (a publishing build).
if os.environ.get("DOCS_INTERSPHINX") == "1":
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "django": (
            "https://docs.djangoproject.com/en/stable/",
            "https://docs.djangoproject.com/en/stable/_objects/",
        ),
        "celery": ("https://docs.celeryq.dev/en/stable/", None),
    }
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
html_theme = "furo"
html_title = f"django-twitter-oauth {release}"
exclude_patterns = ["_build"]
