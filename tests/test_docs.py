"""Docs that cannot drift: every setting and every check id is in the settings reference."""

from __future__ import annotations

import re
from pathlib import Path

from twitter_oauth.conf import DEFAULTS

DOCS = Path(__file__).resolve().parent.parent / "docs"
CHECKS = Path(__file__).resolve().parent.parent / "twitter_oauth" / "checks.py"


def test_every_setting_is_documented_once_in_the_settings_reference():
    reference = (DOCS / "settings.rst").read_text()
    for name in DEFAULTS:
        assert reference.count(f"\n``{name}``\n") == 1, name


def test_every_check_id_is_documented():
    reference = (DOCS / "settings.rst").read_text()
    ids = set(re.findall(r"twitter_oauth\.[EW]\d{3}", CHECKS.read_text()))
    assert len(ids) >= 10
    missing = sorted(check_id for check_id in ids if check_id not in reference)
    assert missing == []
