from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
@pytest.mark.parametrize(
    "auto_field", ["django.db.models.AutoField", "django.db.models.BigAutoField"]
)
def test_models_need_no_new_migration_whatever_default_auto_field(settings, auto_field):
    settings.DEFAULT_AUTO_FIELD = auto_field
    out = StringIO()
    call_command("makemigrations", "twitter_oauth", "--check", "--dry-run", stdout=out, stderr=out)
    assert "No changes detected" in out.getvalue()
