"""Nuri installed as a wheel (``pip install .``, not editable) works from any directory: its
profiles, prompts and chat templates ship as package data, nothing is read from a checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from conftest import REPO_ROOT, write_md

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A new virtual environment with the wheel built from this checkout; the dependencies
    (torch, models, ...) come from the test environment through a path entry, so only Nuri
    itself is new. Returns the environment's bin folder."""
    root = tmp_path_factory.mktemp("install")
    # Built from a copy: an in-tree build would leave build/ and *.egg-info in the checkout.
    source = root / "source"
    skip = shutil.ignore_patterns(".git", ".venv*", "data", "build", "*.egg-info", "__pycache__", ".*_cache")
    shutil.copytree(REPO_ROOT, source, ignore=skip)
    wheels = root / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(source)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("nuri-*.whl")
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    install = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    site = subprocess.run(
        [str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # Only the dependencies' folder: a plain path entry does not run the test environment's
    # own .pth files, so the editable install of this checkout stays invisible.
    (Path(site) / "_nuri_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return bin_dir


def _run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURI_") and k != "PYTHONPATH"}
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_the_package_comes_from_the_wheel_not_the_checkout(installed, tmp_path):
    proc = _run(installed, tmp_path, "python", "-c", "import assistant, configs; print(configs.__file__)")
    assert proc.returncode == 0, proc.stderr
    where = Path(proc.stdout.strip())
    assert installed.parent in where.parents and REPO_ROOT not in where.parents


def test_ingest_and_search_from_another_directory(installed, tmp_path):
    elsewhere = tmp_path / "somewhere" / "else"
    write_md(
        elsewhere / "docs",
        "leave.md",
        "연가 사용 안내",
        {"신청": "연가는 사용 3일 전까지 신청한다."},
        meta="access: public\n",
    )
    proc = _run(installed, elsewhere, "nuri", "ingest", "docs", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert (elsewhere / "data" / "index").is_dir()  # relative paths: the current directory
    proc = _run(installed, elsewhere, "nuri", "search", "연가 신청 기한", "--json")
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)
    assert hits[0]["title"] == "연가 사용 안내"
    # the shipped production profile and prompts are found from outside the checkout
    proc = _run(installed, elsewhere, "python", "-c",
                "from configs import resources; from assistant.prompts import PromptBook;"
                "print(PromptBook(resources.prompts_dir()).refusal('ko')[:4], resources.profile('production').is_file())")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    refusal_start, production_found = proc.stdout.split()
    assert refusal_start == (REPO_ROOT / "configs" / "prompts" / "refusal.ko.txt").read_text(encoding="utf-8")[:4]
    assert production_found == "True"
