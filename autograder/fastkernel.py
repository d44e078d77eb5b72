"""Warm kernels for grading workers: fork each notebook's kernel from a process
that has already imported ipykernel, NumPy, PyTorch and matplotlib.

Starting a Python kernel and importing PyTorch costs about 3 s of CPU per
notebook, most of a pilot notebook's grading time. A grading worker started
by ``grade --jobs N`` keeps one *zygote* process that has done those imports
once; every kernel is a fork of it, with its own process group, working
folder, environment and memory limit, then started exactly as
``python -m ipykernel_launcher -f <connection file>`` would start it.

Scores do not depend on the kernel (see :class:`JudgeTasks`), so grading with
warm kernels gives the same gradebook as plain ``nbgrader autograde``. Plain
nbgrader, and anything that does not set ``AUTOGRADER_FAST_KERNELS=1``, uses
ordinary kernels.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

__all__ = ["FastKernelManager", "enabled"]

PRELOAD = ("numpy", "torch", "matplotlib", "ipykernel.kernelapp")


def enabled() -> bool:
    return os.environ.get("AUTOGRADER_FAST_KERNELS") == "1"


class _Zygote:
    """The warm process; ``spawn`` forks a kernel from it and returns its pid."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "autograder.fastkernel"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        atexit.register(self.close)

    def spawn(self, argv, cwd: str, env: dict) -> int:
        self.proc.stdin.write(json.dumps({"argv": argv, "cwd": cwd, "env": env}) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise RuntimeError("the warm-kernel process has exited")
        return int(json.loads(reply)["pid"])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()


_ZYGOTE: _Zygote | None = None


def _zygote() -> _Zygote:
    global _ZYGOTE
    if _ZYGOTE is None or not _ZYGOTE.alive():
        _ZYGOTE = _Zygote()
    return _ZYGOTE


class _PidProcess:
    """Enough of ``subprocess.Popen`` for jupyter_client, for a kernel that is not our child."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            try:
                with open(f"/proc/{self.pid}/stat") as fh:
                    state = fh.read().rsplit(")", 1)[1].split()[0]
                if state in ("Z", "X"):
                    self.returncode = 0
            except (OSError, IndexError):
                self.returncode = 0  # gone (the zygote reaps its children)
        return self.returncode

    def wait(self, timeout=None):
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, sig):
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


class _ZygoteProvisioner(LocalProvisioner):
    async def launch_kernel(self, cmd, **kwargs):
        try:
            start = cmd.index("ipykernel_launcher")
        except ValueError:
            start = -1
        if start < 1 or cmd[start - 1] != "-m":  # not a plain Python kernel: start it the usual way
            return await super().launch_kernel(cmd, **kwargs)
        env = dict(kwargs.get("env") or os.environ)
        cwd = str(kwargs.get("cwd") or os.getcwd())
        pid = _zygote().spawn(list(cmd[start + 1:]), cwd, env)
        self.process = _PidProcess(pid)
        self.pid = pid
        self.pgid = pid  # the kernel leads its own session
        self.cwd = cwd
        return self.connection_info


class FastKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose Python kernels come from the warm zygote."""

    async def _async_pre_start_kernel(self, **kw):
        if self.provisioner is None:
            self.provisioner = _ZygoteProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                                  parent=self)
        return await super()._async_pre_start_kernel(**kw)


def _serve() -> None:
    """The zygote: import once, then fork one kernel per request line on stdin."""
    import importlib

    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for name in PRELOAD:
        importlib.import_module(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # kernels are reaped as they exit
    out = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                devnull = os.open(os.devnull, os.O_RDONLY)
                os.dup2(devnull, 0)
                os.dup2(2, 1)  # keep the reply pipe clean
                os.chdir(request["cwd"])
                os.environ.clear()
                os.environ.update(request["env"])
                sys.path[0] = request["cwd"]  # as `python -m ipykernel_launcher` started there would have it
                sys.argv = ["ipykernel_launcher", *request["argv"]]
                from ipykernel.kernelapp import launch_new_instance

                launch_new_instance(argv=request["argv"])
            finally:
                os._exit(0)
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()


if __name__ == "__main__":
    _serve()
