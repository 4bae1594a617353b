"""A clone without ../shared: the model checks skip and say why, everything else runs; in CI
(CI=true) nothing may skip. Run in a copy of the repository's test set-up with no models beside it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SAMPLE_TESTS = '''
import pytest

from tests.conftest import models_file, requires_models


def test_runs() -> None:
    assert True


@requires_models
def test_needs_the_models() -> None:
    assert False, "must not run without the models"


def test_needs_one_schema() -> None:
    models_file("schemas/feeds/listings-feed-schema-v2.json")


def test_skips_for_another_reason() -> None:
    pytest.skip("Redis is down")


@pytest.mark.xfail(reason="known", strict=False)
def test_expected_failure() -> None:
    assert False
'''


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    repo = tmp_path / "clone"  # nothing at tmp_path / "shared"
    (repo / "tests").mkdir(parents=True)
    (repo / "tools").mkdir()
    shutil.copy(ROOT / "tests" / "conftest.py", repo / "tests" / "conftest.py")
    (repo / "tests" / "__init__.py").write_text("")
    (repo / "tests" / "test_sample.py").write_text(SAMPLE_TESTS)
    for name in ("check.py", "models_source.py"):
        shutil.copy(ROOT / "tools" / name, repo / "tools" / name)
    return repo


def run(repo: Path, *cmd: str, ci: bool = False, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "SELLERKIT_MODELS_DIR")}
    env.update(extra)
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, *cmd], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_without_models_the_model_tests_skip_and_say_why(clone: Path) -> None:
    r = run(clone, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed, 3 skipped, 1 xfailed" in r.stdout
    assert r.stdout.count("Amazon's models are not at") == 2
    assert "SELLERKIT_MODELS_DIR" in r.stdout and "tools/fetch_models.py" in r.stdout


def test_in_ci_every_skip_fails(clone: Path) -> None:
    r = run(clone, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests", ci=True)
    assert r.returncode == 1
    assert "2 failed, 1 passed, 1 xfailed, 1 error" in r.stdout  # a skip at set-up is an error
    assert r.stdout.count("skipped in CI, where nothing may skip") >= 3
    assert "Redis is down" in r.stdout


def test_the_models_dir_comes_from_the_environment(clone: Path) -> None:
    models = clone.parent / "elsewhere"
    (models / "models" / "x-api-model").mkdir(parents=True)
    (models / "models" / "x-api-model" / "x.json").write_text("{}")
    (models / "schemas" / "feeds").mkdir(parents=True)
    (models / "schemas" / "feeds" / "listings-feed-schema-v2.json").write_text("{}")
    r = run(clone, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", SELLERKIT_MODELS_DIR=str(models))
    assert "1 failed, 2 passed, 1 skipped, 1 xfailed" in r.stdout  # the @requires_models test ran


def test_check_without_models_skips_the_catalog_check_and_goes_on(clone: Path) -> None:
    r = run(clone, "tools/check.py")
    lines = r.stdout.splitlines()
    assert lines[0].startswith("SKIPPED: the catalog check (tools/gen_catalog.py --check) and the model tests: "
                               f"Amazon's models are not at {clone.parent / 'shared' / 'sp-api-models'}")
    assert "gen_catalog.py" not in lines[1] and "unasync.py --check" in lines[1]  # the next check ran


def test_check_in_ci_fails_without_models(clone: Path) -> None:
    r = run(clone, "tools/check.py", ci=True)
    assert r.returncode == 1 and r.stdout == ""
    assert "Amazon's models are not at" in r.stderr and "CI must have them" in r.stderr


@pytest.mark.parametrize("how", ["flag", "env"])
def test_check_with_a_models_dir_that_has_none_is_an_error(clone: Path, how: str) -> None:
    empty = clone.parent / "empty"
    empty.mkdir()
    r = (run(clone, "tools/check.py", "--models", str(empty)) if how == "flag"
         else run(clone, "tools/check.py", SELLERKIT_MODELS_DIR=str(empty)))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == (f"check.py: Amazon's models are not at {empty} "
                                f"({'--models' if how == 'flag' else 'SELLERKIT_MODELS_DIR'}): no models/*/*.json "
                                "there; set SELLERKIT_MODELS_DIR to a copy of amzn/selling-partner-api-models, "
                                "or run python3 tools/fetch_models.py")
