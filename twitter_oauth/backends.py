"""An authentication backend for code that holds a :class:`TwitterAccount`.

``authenticate(request, twitter_account=account)`` returns the account's user
when that user may sign in. List it in ``AUTHENTICATION_BACKENDS`` to have
sessions record it; without it, sign-in with X records the first configured
backend (``ModelBackend`` by default), which restores the user just as well.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from twitter_oauth.models import TwitterAccount


class TwitterAccountBackend(BaseBackend):
    def authenticate(  # type: ignore[override]  # a keyword of our own, as backends do
        self,
        request: HttpRequest | None,
        twitter_account: TwitterAccount | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        if twitter_account is None:
            return None
        user = twitter_account.user
        return user if self.user_can_authenticate(user) else None

    def get_user(self, user_id: Any) -> AbstractBaseUser | None:  # type: ignore[override]
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    @staticmethod
    def user_can_authenticate(user: AbstractBaseUser) -> bool:
        return getattr(user, "is_active", True)
