"""Configuration by environment: production passes check --deploy; bad set-ups fail clearly."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from webapp.env import DOCUMENTED_VARIABLES

REPO = Path(__file__).resolve().parents[3]
PROD_ENV = {
    "RADSYNTH_ENV": "production",
    "SECRET_KEY": "x9-" + "k" * 30 + "QzW7!pL2#vB8@nM4$rT6%yU1^",
    "ALLOWED_HOSTS": "radsynth.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/radsynth",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in DOCUMENTED_VARIABLES and k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_check_deploy_without_warnings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PROD_ENV.items() if k != "SECRET_KEY"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_unreachable_database_gives_one_clear_line():
    result = run_manage("migrate", env={"DATABASE_URL": "postgres://postgres@127.0.0.1:1/radsynth"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot reach the database at 127.0.0.1:1" in lines[0] and "DATABASE_URL" in lines[0]


def test_unreachable_broker_gives_one_clear_line():
    result = run_manage("migrate", env={"CELERY_BROKER_URL": "redis://127.0.0.1:1/0"})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "Celery broker" in result.stderr and "CELERY_BROKER_URL" in result.stderr


def test_compose_file_names_the_services_and_only_documented_variables():
    compose = yaml.safe_load((REPO / "docker" / "compose.yaml").read_text())
    assert {"postgres", "redis", "web", "gpu-worker", "cpu-worker"} <= set(compose["services"])
    gpu = compose["services"]["gpu-worker"]
    assert "-Q" in gpu["command"] and gpu["command"][gpu["command"].index("-Q") + 1] == "gpu"
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    env_keys = set(compose["x-radsynth-env"])
    assert env_keys <= set(DOCUMENTED_VARIABLES), env_keys - set(DOCUMENTED_VARIABLES)
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "ALLOWED_HOSTS", "MEDIA_ROOT", "RADSYNTH_WEIGHTS_DIR"} <= env_keys
    for name in ("web", "gpu-worker", "cpu-worker"):
        mounts = compose["services"][name]["volumes"]
        assert any(m.startswith("media:") for m in mounts) and any(m.startswith("weights:") for m in mounts)


def test_dockerfiles_install_the_project_and_pin_torch():
    for name in ("Dockerfile.web", "Dockerfile.gpu-worker"):
        text = (REPO / "docker" / name).read_text()
        assert "torch==2.13.0" in text and "pip install -e ." in text


def test_readme_documents_every_variable_and_the_two_commands():
    readme = (REPO / "README.md").read_text()
    for name in DOCUMENTED_VARIABLES:
        assert f"`{name}`" in readme, name
    setup = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^make \w+$", setup, flags=re.M) == ["make run", "make test"]
