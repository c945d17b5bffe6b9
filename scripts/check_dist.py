"""Check the built sdist and wheel, then install the wheel into a fresh virtualenv and use it.

    python scripts/check_dist.py dist/

The wheel must carry the templates, static files, migrations and py.typed, and
neither the tests nor the example project; the sdist must carry those too. The
installed wheel must pass `check` and `migrate` in a project of its own.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile
from pathlib import Path

REQUIRED = (
    "twitter_oauth/py.typed",
    "twitter_oauth/migrations/0001_initial.py",
    "twitter_oauth/migrations/0002_scheduledtweet.py",
    "twitter_oauth/templates/twitter_oauth/login.html",
    "twitter_oauth/templates/twitter_oauth/tags/button.html",
    "twitter_oauth/templates/twitter_oauth/tags/logo.svg",
    "twitter_oauth/static/twitter_oauth/twitter_oauth.css",
    "twitter_oauth/testing/__main__.py",
    "twitter_oauth/locale/en/LC_MESSAGES/django.mo",
)
FORBIDDEN_PREFIXES = ("tests/", "example_project/", "bench/", "docs/", "scripts/")
SETTINGS = """
SECRET_KEY = "dist-check"
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
                  "django.contrib.messages", "django.contrib.admin", "twitter_oauth"]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware",
              "django.contrib.messages.middleware.MessageMiddleware"]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {"context_processors": ["django.template.context_processors.request",
              "django.contrib.auth.context_processors.auth",
              "django.contrib.messages.context_processors.messages"]}}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
ROOT_URLCONF = "distcheck_urls"
USE_TZ = True
TWITTER_OAUTH = {"CONSUMER_KEY": "k", "CONSUMER_SECRET": "s",
                 "TOKEN_KEYS": ["0Oa2iZ9bXpYw8pJd0Sx1d6c3QzR8k0yH4lQw5cJmVtA="]}
"""
URLS = """
from django.urls import include, path
urlpatterns = [path("accounts/twitter/", include("twitter_oauth.urls"))]
"""


def fail(message: str) -> None:
    print(f"check_dist: {message}", file=sys.stderr)
    sys.exit(1)


def check_wheel(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        fail(f"{wheel.name} lacks {', '.join(missing)}")
    stray = sorted(name for name in names if name.startswith(FORBIDDEN_PREFIXES))
    if stray:
        fail(f"{wheel.name} carries {', '.join(stray[:5])}")


def check_sdist(sdist: Path) -> None:
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    missing = [
        name
        for name in (*REQUIRED, "LICENSE", "CHANGELOG.md", "docs/index.rst")
        if name not in names
    ]
    if missing:
        fail(f"{sdist.name} lacks {', '.join(missing)}")


def check_install(wheel: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        venv.create(home / "venv", with_pip=True)
        python = home / "venv" / "bin" / "python"
        subprocess.run([python, "-m", "pip", "install", "--quiet", str(wheel)], check=True)  # noqa: S603
        (home / "distcheck_settings.py").write_text(SETTINGS)
        (home / "distcheck_urls.py").write_text(URLS)
        env = {
            "DJANGO_SETTINGS_MODULE": "distcheck_settings",
            "PYTHONPATH": str(home),
            "PATH": "/usr/bin:/bin",
        }
        for command in (["check", "--fail-level", "WARNING"], ["migrate", "--noinput", "-v", "0"]):
            result = subprocess.run(  # noqa: S603
                [python, "-m", "django", *command],
                cwd=home,
                env=env,
                capture_output=True,
                text=True,
            )
            if result.returncode:
                output = result.stdout + result.stderr
                fail(f"the installed wheel fails `{' '.join(command)}`:\n{output}")
    print(f"check_dist: {wheel.name} installs into a fresh virtualenv; check and migrate pass")


def main() -> None:
    dist = Path(sys.argv[1] if len(sys.argv) > 1 else "dist")
    wheels, sdists = list(dist.glob("*.whl")), list(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        fail(f"expected one wheel and one sdist in {dist}, found {wheels + sdists}")
    check_wheel(wheels[0])
    check_sdist(sdists[0])
    check_install(wheels[0])


if __name__ == "__main__":
    main()
