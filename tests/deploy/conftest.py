"""Fresh Debian 12 roots for the install scripts (tests/deploy/chroot.py)."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.deploy.chroot import Chroot, debootstrap, have_tools

REPO = Path(__file__).resolve().parents[2]
LOGS = REPO / "artifacts" / "deploy"  # what ran in each chroot, kept after the test
# What a checkout holds that is not the source: never copied into a chroot.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "data", "artifacts", "node_modules",
                                    "__pycache__", "*.egg-info", "build", ".ruff_cache",
                                    ".pytest_cache")


@contextmanager
def one_at_a_time() -> Iterator[None]:
    """Chroots share the host's apt and pip caches, whose locks apt does not wait for: with
    parallel test workers (pytest -n), only one worker builds or installs at a time."""
    with open("/tmp/roshni-deploy-tests.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="session")
def debian_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One `debootstrap --variant=minbase bookworm` per session; tests use copies."""
    why = have_tools()
    if why:
        pytest.fail(f"cannot build the test Debian root: {why}")
    work = tmp_path_factory.mktemp("debian")
    base = work / "bookworm"
    with one_at_a_time():
        started = time.monotonic()
        debootstrap(base, work / "debootstrap.log")
    print(f"\ndebootstrap --variant=minbase bookworm: {time.monotonic() - started:.0f} s")
    yield base
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def fresh_debian(debian_base: Path, tmp_path: Path,
                 request: pytest.FixtureRequest) -> Iterator[Chroot]:
    """A copy of the base with this checkout in /root/roshni, opened (mounts in a private
    namespace); closed and deleted afterwards, whatever happened. Its logs are kept in
    artifacts/deploy/."""
    root = tmp_path / "root"
    subprocess.run(["cp", "-a", "--reflink=auto", str(debian_base), str(root)], check=True)
    shutil.copytree(REPO, root / "root" / "roshni", ignore=NOT_SOURCE, symlinks=True)
    chroot = Chroot(root, tmp_path / "chroot.log")
    try:
        with one_at_a_time():
            chroot.open()
            yield chroot
    finally:
        chroot.close()
        chroot.remove()
        LOGS.mkdir(parents=True, exist_ok=True)
        for log in tmp_path.glob("*.log"):
            shutil.copy(log, LOGS / f"{request.node.name}.{log.name}")
