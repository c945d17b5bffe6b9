"""Tokens at rest: the column holds Fernet ciphertext; Python sees plain text."""

from __future__ import annotations

import io
import json

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection

from twitter_oauth import crypto
from twitter_oauth.models import TwitterAccount

pytestmark = pytest.mark.django_db

TOKEN = "783214-Wj6nXG0tmBqP2hJ3x9Kd8sLq1Rz5VyUe7aCb4NfT"
SECRET = "qW8eR5tY2uI9oP3aS6dF1gH4jK7lZ0xC5vB8nM2qW4eR7"


def raw_columns(pk):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, access_token_secret FROM twitter_oauth_twitteraccount WHERE id = %s",
            [pk],
        )
        return cursor.fetchone()


@pytest.fixture
def account(django_user_model):
    user = django_user_model.objects.create_user("alice")
    return TwitterAccount.objects.create(
        user=user,
        twitter_id="783214",
        screen_name="alice",
        access_token=TOKEN,
        access_token_secret=SECRET,
    )


def use_keys(settings, *keys):
    settings.TWITTER_OAUTH = {**settings.TWITTER_OAUTH, "TOKEN_KEYS": list(keys)}


def test_python_reads_plain_text_and_the_column_holds_ciphertext(account):
    fresh = TwitterAccount.objects.get(pk=account.pk)
    assert (fresh.access_token, fresh.access_token_secret) == (TOKEN, SECRET)
    raw_token, raw_secret = raw_columns(account.pk)
    assert TOKEN not in raw_token and SECRET not in raw_secret
    assert raw_token.startswith("gAAAAA") and raw_secret.startswith("gAAAAA")
    assert raw_token != raw_secret


def test_each_save_uses_a_fresh_nonce(account):
    first = raw_columns(account.pk)[0]
    account.save()
    assert raw_columns(account.pk)[0] != first


def test_first_key_encrypts_and_every_key_decrypts(account, settings):
    old = settings.TWITTER_OAUTH["TOKEN_KEYS"][0]
    new = Fernet.generate_key().decode()
    use_keys(settings, new, old)
    assert TwitterAccount.objects.get(pk=account.pk).access_token == TOKEN
    account.save()
    raw = raw_columns(account.pk)[0]
    assert Fernet(new.encode()).decrypt(raw.encode()).decode() == TOKEN


def test_a_removed_key_gives_a_clear_error_without_secrets(account, settings):
    use_keys(settings, Fernet.generate_key().decode())
    with pytest.raises(crypto.TokenDecryptionError) as caught:
        TwitterAccount.objects.get(pk=account.pk)
    message = str(caught.value)
    assert "was a key removed, or SECRET_KEY changed?" in message
    assert TOKEN not in message and "gAAAA" not in message
    # InvalidToken carries nothing secret, but the traceback still leaves it out.
    assert caught.value.__suppress_context__
    assert caught.value.__cause__ is None


def test_without_token_keys_a_key_derived_from_secret_key_is_used(settings, django_user_model):
    use_keys(settings)
    user = django_user_model.objects.create_user("bob")
    account = TwitterAccount.objects.create(
        user=user, twitter_id="2", screen_name="bob", access_token=TOKEN, access_token_secret=SECRET
    )
    raw = raw_columns(account.pk)[0]
    derived = Fernet(crypto.derive_key(settings.SECRET_KEY))
    assert derived.decrypt(raw.encode()).decode() == TOKEN
    settings.SECRET_KEY = "another-secret-key"
    with pytest.raises(crypto.TokenDecryptionError):
        TwitterAccount.objects.get(pk=account.pk)


@pytest.mark.parametrize("lookup", ["", "__startswith", "__in", "__icontains"])
def test_lookups_on_encrypted_fields_fail_loudly(account, lookup):
    value = [TOKEN] if lookup == "__in" else TOKEN
    with pytest.raises(FieldError, match="could never match"):
        TwitterAccount.objects.filter(**{f"access_token{lookup}": value}).exists()


def test_isnull_lookup_works(account):
    assert TwitterAccount.objects.filter(access_token__isnull=False).count() == 1


def test_dumpdata_holds_no_plain_text_and_loaddata_round_trips(account, tmp_path):
    out = io.StringIO()
    call_command("dumpdata", "twitter_oauth", stdout=out)
    dumped = out.getvalue()
    assert TOKEN not in dumped and SECRET not in dumped
    fields = json.loads(dumped)[0]["fields"]
    assert fields["access_token"].startswith("gAAAAA")
    TwitterAccount.objects.all().delete()
    fixture = tmp_path / "accounts.json"
    fixture.write_text(dumped)
    call_command("loaddata", str(fixture), verbosity=0)
    loaded = TwitterAccount.objects.get()
    assert (loaded.access_token, loaded.access_token_secret) == (TOKEN, SECRET)


def test_repr_and_str_never_show_secrets(account):
    assert TOKEN not in repr(account) and SECRET not in repr(account)
    assert TOKEN not in str(account) and SECRET not in str(account)


def test_update_encrypts_too(account):
    TwitterAccount.objects.filter(pk=account.pk).update(access_token="783214-new")
    assert "783214-new" not in raw_columns(account.pk)[0]
    assert TwitterAccount.objects.get(pk=account.pk).access_token == "783214-new"
