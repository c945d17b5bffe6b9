"""`manage.py twitter_rotate_keys`: re-encrypt every row with the first key."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from twitter_oauth.models import TwitterAccount

pytestmark = pytest.mark.django_db


def raw_token(pk):
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM twitter_oauth_twitteraccount WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def use_keys(settings, *keys):
    settings.TWITTER_OAUTH = {**settings.TWITTER_OAUTH, "TOKEN_KEYS": list(keys)}


@pytest.fixture
def old_key(settings):
    key = Fernet.generate_key().decode()
    use_keys(settings, key)
    return key


@pytest.fixture
def accounts(old_key, django_user_model):
    user = django_user_model.objects.create_user("owner")
    return [
        TwitterAccount.objects.create(
            user=user,
            twitter_id=str(n),
            screen_name=f"a{n}",
            access_token=f"{n}-token",
            access_token_secret=f"secret-{n}",
        )
        for n in range(1, 6)
    ]


def rotate(*args):
    out = io.StringIO()
    call_command("twitter_rotate_keys", *args, stdout=out)
    return out.getvalue()


def test_rotation_lets_the_old_key_be_dropped(settings, old_key, accounts):
    new_key = Fernet.generate_key().decode()
    use_keys(settings, new_key, old_key)
    output = rotate("--batch-size", "2")
    assert "twitter_oauth.TwitterAccount: re-encrypted 5 row(s)" in output
    use_keys(settings, new_key)
    assert sorted(a.access_token for a in TwitterAccount.objects.all()) == [
        f"{n}-token" for n in range(1, 6)
    ]
    assert Fernet(new_key.encode()).decrypt(raw_token(accounts[0].pk).encode()) == b"1-token"


def test_running_it_twice_does_no_harm(settings, old_key, accounts):
    new_key = Fernet.generate_key().decode()
    use_keys(settings, new_key, old_key)
    rotate()
    rotate()
    use_keys(settings, new_key)
    assert TwitterAccount.objects.get(pk=accounts[2].pk).access_token_secret == "secret-3"


def test_dry_run_changes_nothing(settings, old_key, accounts):
    before = raw_token(accounts[0].pk)
    use_keys(settings, Fernet.generate_key().decode(), old_key)
    assert "would re-encrypt 5 row(s)" in rotate("--dry-run")
    assert raw_token(accounts[0].pk) == before


def test_undecryptable_rows_are_named_and_left_alone(settings, old_key, accounts):
    stranger = Fernet.generate_key().decode()
    use_keys(settings, stranger)
    orphan = accounts[1]
    orphan.access_token = "2-token"
    orphan.save()  # now encrypted with a key the next configuration does not have
    orphan_raw = raw_token(orphan.pk)
    new_key = Fernet.generate_key().decode()
    use_keys(settings, new_key, old_key)
    with pytest.raises(CommandError, match=rf"1 row\(s\), pk {orphan.pk}\b"):
        rotate()
    assert raw_token(orphan.pk) == orphan_raw
    use_keys(settings, new_key)
    assert TwitterAccount.objects.get(pk=accounts[0].pk).access_token == "1-token"


def test_updated_at_is_not_touched(settings, old_key, accounts):
    before = TwitterAccount.objects.get(pk=accounts[0].pk).updated_at
    use_keys(settings, Fernet.generate_key().decode(), old_key)
    rotate()
    assert TwitterAccount.objects.get(pk=accounts[0].pk).updated_at == before
