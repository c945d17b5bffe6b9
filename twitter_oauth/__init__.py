"""Sign in with X (Twitter), account linking and reliable deferred posting for Django."""

__version__ = "0.1.0.dev0"
