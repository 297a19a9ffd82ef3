"""A throwaway Debian 12 root for running the install scripts as on a fresh machine.

`debootstrap --variant=minbase bookworm` makes the tree (once per test session; each test
gets a copy). Its /proc, /sys, /dev and the shared caches are mounted in a mount namespace
of its own, held by one `unshare … sleep` process: the host's mount table never sees them,
and they vanish with that process, even if the test run is killed. Everything the chroot
runs is started here and ended by process id in `close()`.

Only what a test machine needs differs from a real one: the host's apt sources and apt
settings (this machine's mirror and clock) and the certificate authorities it trusts
besides Debian's (its network's proxy), a `policy-rc.d` that keeps package scripts
from starting daemons (there is no systemd inside to manage them), and the apt and pip
caches of the host, bind-mounted so that repeated runs download little.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

MIRROR = "http://deb.debian.org/debian"
APT_ARCHIVES = Path("/var/cache/apt/archives")
PIP_CACHE = Path.home() / ".cache" / "pip"


def have_tools() -> str | None:
    """Why a chroot cannot be made here, or None."""
    if os.geteuid() != 0:
        return "needs root (debootstrap, chroot, mounts)"
    for tool in ("debootstrap", "unshare", "nsenter", "chroot"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            return f"{tool} is not installed (apt-get install debootstrap util-linux)"
    return None


def debootstrap(target: Path, log: Path) -> None:
    """A minimal bookworm in `target` (the host's .deb cache is reused)."""
    APT_ARCHIVES.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        subprocess.run(["debootstrap", "--variant=minbase", f"--cache-dir={APT_ARCHIVES}",
                        "bookworm", str(target), MIRROR],
                       stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                       check=True, timeout=900)


class Chroot:
    def __init__(self, root: Path, log: Path) -> None:
        self.root = root
        self.log_path = log
        self.holder: subprocess.Popen[bytes] | None = None
        self.children: list[subprocess.Popen[bytes]] = []

    # --- life cycle ---

    def open(self) -> None:
        self._prepare_tree()
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sleep", "infinity"],
            stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while _mount_ns(self.holder.pid) == _mount_ns(os.getpid()):
            if time.monotonic() > deadline or self.holder.poll() is not None:
                raise RuntimeError("unshare did not make a mount namespace")
            time.sleep(0.02)
        r = str(self.root)
        self._ns("mount", "-t", "proc", "proc", f"{r}/proc")
        self._ns("mount", "-t", "sysfs", "sysfs", f"{r}/sys")
        self._ns("mount", "--rbind", "/dev", f"{r}/dev")
        self._ns("mount", "--make-rslave", f"{r}/dev")
        self._ns("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", f"{r}/run")
        for host, inside in ((APT_ARCHIVES, "var/cache/apt/archives"),
                             (PIP_CACHE, "root/.cache/pip")):
            host.mkdir(parents=True, exist_ok=True)
            (self.root / inside).mkdir(parents=True, exist_ok=True)
            self._ns("mount", "--bind", str(host), f"{r}/{inside}")

    def close(self) -> None:
        """End everything started in the chroot, then the namespace with its mounts."""
        for proc in reversed(self.children):
            _end(proc)
        # Anything else whose root is the chroot was started by the install scripts run
        # here (e.g. a daemon a script left behind): ours too, ended by process id.
        for pid in self.pids_inside():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.holder is not None:
            _end(self.holder)
            self.holder = None

    def remove(self) -> None:
        """Delete the tree, unless something is still mounted below it."""
        if any(p == str(self.root) or p.startswith(f"{self.root}/") for p in _mounts()):
            raise RuntimeError(f"still mounted below {self.root}; not deleting it")
        shutil.rmtree(self.root, ignore_errors=True)

    def pids_inside(self) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                root = os.readlink(entry / "root")
            except OSError:
                continue
            if root == str(self.root) or root.startswith(f"{self.root}/"):
                pids.append(int(entry.name))
        return pids

    # --- running things inside ---

    def command(self, argv: Sequence[str], env: Mapping[str, str] | None = None,
                cwd: str = "/") -> list[str]:
        """argv as run inside the chroot, with a clean environment like a root shell's."""
        base = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOME": "/root", "LANG": "C.UTF-8"}
        assignments = [f"{k}={v}" for k, v in {**base, **(env or {})}.items()]
        assert self.holder is not None, "open() first"
        return ["nsenter", f"--target={self.holder.pid}", "--mount", "--",
                "chroot", str(self.root), "/usr/bin/env", "-i", f"--chdir={cwd}",
                *assignments, *argv]

    def run(self, argv: Sequence[str], env: Mapping[str, str] | None = None,
            timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess[str]:
        with open(self.log_path, "a") as log:
            log.write(f"\n### {' '.join(argv)}\n")
            log.flush()
            done = subprocess.run(self.command(argv, env), stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True,
                                  stdin=subprocess.DEVNULL, timeout=timeout)
            log.write(done.stdout)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited with {done.returncode} in the "
                                 f"chroot:\n{done.stdout[-6000:]}")
        return done

    def spawn(self, argv: Sequence[str], env: Mapping[str, str] | None = None,
              cwd: str = "/", log_name: str = "daemon") -> subprocess.Popen[bytes]:
        out = open(self.log_path.with_name(f"{log_name}.log"), "ab")  # noqa: SIM115
        proc = subprocess.Popen(self.command(argv, env, cwd), stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        out.close()
        self.children.append(proc)
        return proc

    def _ns(self, *argv: str) -> None:
        """A command in the chroot's mount namespace, outside the chroot (mounts)."""
        assert self.holder is not None
        subprocess.run(["nsenter", f"--target={self.holder.pid}", "--mount", "--", *argv],
                       check=True, capture_output=True, timeout=30)

    def path(self, inside: str) -> Path:
        return self.root / inside.lstrip("/")

    # --- the tree ---

    def _prepare_tree(self) -> None:
        # This machine's apt sources and settings (mirror, clock checks), so that the
        # install sees the same archive as the host and its package cache fits.
        etc_apt = self.path("/etc/apt")
        for name in ("sources.list",):
            if Path("/etc/apt", name).is_file():
                shutil.copy(Path("/etc/apt", name), etc_apt / name)
        for sub in ("sources.list.d", "trusted.gpg.d"):
            for f in Path("/etc/apt", sub).glob("*"):
                if f.is_file():
                    shutil.copy(f, etc_apt / sub / f.name)
        # Of the settings, only how to fetch (Acquire::…), not the host's own hooks.
        for f in Path("/etc/apt/apt.conf.d").glob("*"):
            text = f.read_text(errors="replace") if f.is_file() else ""
            if "Acquire::" in text and "Invoke" not in text:
                shutil.copy(f, etc_apt / "apt.conf.d" / f.name)
        if any((etc_apt / "sources.list.d").glob("*.sources")):
            (etc_apt / "sources.list").unlink(missing_ok=True)
        shutil.copy("/etc/resolv.conf", self.path("/etc/resolv.conf"), follow_symlinks=True)
        # What the Debian installer writes and minbase lacks: "localhost" must resolve.
        hosts = self.path("/etc/hosts")
        if not hosts.exists():
            hosts.write_text("127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost "
                             "ip6-loopback\n")
        # Certificate authorities this machine trusts besides Debian's (a proxy's): the
        # install's ca-certificates adds them to the chroot's bundle, which pip uses.
        local_cas = self.path("/usr/local/share/ca-certificates")
        local_cas.mkdir(parents=True, exist_ok=True)
        for crt in Path("/usr/local/share/ca-certificates").glob("*.crt"):
            shutil.copy(crt, local_cas / crt.name)
        # No daemon started by a package's postinst: nothing inside would stop it again.
        policy = self.path("/usr/sbin/policy-rc.d")
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)


def _mount_ns(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/ns/mnt")


def _mounts() -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f]


def _end(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(10)
