"""Shared fixtures for the differential tests (Secateur CLI vs onnxruntime).

Environment:
    SECATEUR_BIN     path to the CLI (default build/bin/secateur)
    SECATEUR_MODELS  directory of generated models (default build/models);
                     missing models are generated with tools/make_models.py
Relative paths are resolved against the repository root so the tests work
from any working directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MAKE_MODELS = REPO_ROOT / "tools" / "make_models.py"

# Generous: resnet50 through an unoptimised debug build can be slow, and a
# hang must still end the test rather than the whole CI job.
CLI_TIMEOUT_S = float(os.environ.get("SECATEUR_TEST_TIMEOUT", "600"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: large models (deselect with -m 'not slow')")


def _repo_path(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else REPO_ROOT / path


@pytest.fixture(scope="session")
def secateur_bin() -> Path:
    explicit = "SECATEUR_BIN" in os.environ
    path = _repo_path(os.environ.get("SECATEUR_BIN", "build/bin/secateur"))
    if not path.is_file():
        # An explicitly requested binary that is missing is a setup error;
        # the default one just means "not built yet".
        if explicit:
            pytest.fail(f"SECATEUR_BIN={path} does not exist")
        pytest.skip(f"{path} not built (run `swift build -c release` or set SECATEUR_BIN)")
    return path


@pytest.fixture(scope="session")
def models_dir() -> Path:
    # Not created here: make_models.py creates it only if a model is missing.
    return _repo_path(os.environ.get("SECATEUR_MODELS", "build/models"))


@pytest.fixture(scope="session")
def model_path(models_dir: Path):
    """Factory: model name -> path, generating the model if it is missing."""

    def get(name: str) -> Path:
        path = models_dir / f"{name}.onnx"
        if not path.is_file():
            subprocess.run([sys.executable, str(MAKE_MODELS), "--out", str(models_dir),
                            "--only", name], check=True, cwd=REPO_ROOT)
        return path

    return get


@pytest.fixture(scope="session")
def run_cli(secateur_bin: Path):
    """Factory: run `secateur ARGS...`, capturing text output, never raising."""

    def run(*args: object, env: dict | None = None) -> subprocess.CompletedProcess:
        full_env = {**os.environ, **env} if env else None
        return subprocess.run([str(secateur_bin), *map(str, args)], capture_output=True, text=True,
                              errors="replace", timeout=CLI_TIMEOUT_S, env=full_env)

    return run
