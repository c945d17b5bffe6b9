"""The English catalogue is there, compiled, and in step with its source."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

CATALOGUE = (
    Path(__file__).resolve().parent.parent / "twitter_oauth" / "locale" / "en" / "LC_MESSAGES"
)


def test_the_compiled_catalogue_matches_its_source():
    po = (CATALOGUE / "django.po").read_text()
    entries = len(re.findall(r"^msgid ", po, re.M)) - 1  # less the header
    with (CATALOGUE / "django.mo").open("rb") as compiled_file:
        catalogue = gettext.GNUTranslations(compiled_file)
    # Plural forms are keyed (msgid, n); each entry counts once.
    compiled = {key if isinstance(key, str) else key[0] for key in catalogue._catalog}
    compiled.discard("")
    assert entries >= 50
    assert len(compiled) == entries, "run `make messages` after changing user-facing strings"


def test_user_facing_strings_are_in_the_catalogue():
    po = (CATALOGUE / "django.po").read_text()
    for text in ("Sign in with X", "Signing in with X was cancelled.", "A post cannot be empty."):
        assert f'msgid "{text}"' in po
