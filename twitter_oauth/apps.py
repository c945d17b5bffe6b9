from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TwitterOAuthConfig(AppConfig):
    name = "twitter_oauth"
    verbose_name = _("X (Twitter) accounts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from twitter_oauth import checks  # noqa: F401  (registers the system checks)
