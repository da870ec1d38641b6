"""Settings come from the environment and fail loudly; production passes check --deploy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from snportal.lib.env import env_bool, env_int, env_str

BASE = Path(__file__).resolve().parents[2]


def test_bad_boolean_names_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("DEBUG", "flase")
    with pytest.raises(ImproperlyConfigured, match="DEBUG='flase' is not a boolean"):
        env_bool("DEBUG", False)


def test_bad_integer_names_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("SNPORTAL_WORKERS", "two")
    with pytest.raises(ImproperlyConfigured, match="SNPORTAL_WORKERS='two'"):
        env_int("SNPORTAL_WORKERS", 2)


def test_file_variant_wins_for_secrets(monkeypatch, tmp_path) -> None:
    secret = tmp_path / "key"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret))
    assert env_str("SECRET_KEY") == "from-a-file"


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, str(BASE / "manage.py"), *args],
        cwd=BASE,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_a_weak_explicit_secret_key() -> None:
    result = run_manage("check", DEBUG="0", SECRET_KEY="short", SNPORTAL_SECRETS_KEY="k" * 30)
    assert result.returncode != 0
    assert "SECRET_KEY is too weak while DEBUG is off" in result.stderr


def test_production_refuses_a_weak_explicit_secrets_key() -> None:
    strong = "x" * 20 + "a-long-random-production-secret-key-value-1234567890"
    result = run_manage("check", DEBUG="0", SECRET_KEY=strong, SNPORTAL_SECRETS_KEY="k")
    assert result.returncode != 0
    assert "SNPORTAL_SECRETS_KEY is too weak while DEBUG is off" in result.stderr


def test_non_postgres_database_url_is_refused() -> None:
    result = run_manage("check", DATABASE_URL="mysql://localhost/x")
    assert result.returncode != 0
    assert "snportal runs on PostgreSQL only" in result.stderr


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="x" * 20 + "a-long-random-production-secret-key-value-1234567890",
        ALLOWED_HOSTS="portal.example.org",
        SNPORTAL_SECRETS_KEY="another-long-random-passphrase",
    )
    assert result.returncode == 0, result.stdout + result.stderr
