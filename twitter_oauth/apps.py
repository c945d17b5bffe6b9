from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TwitterOAuthConfig(AppConfig):
    name = "twitter_oauth"
    verbose_name = _("X (Twitter) accounts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from celery.signals import worker_process_shutdown, worker_shutdown

        from twitter_oauth import checks  # noqa: F401  (registers the system checks)
        from twitter_oauth.usage import flush_on_worker_shutdown

        # The usage ledger writes its last counts when a worker (or a prefork child) stops.
        worker_process_shutdown.connect(flush_on_worker_shutdown, weak=False)
        worker_shutdown.connect(flush_on_worker_shutdown, weak=False)
