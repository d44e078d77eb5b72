"""The notebook's kernel at grading time: started inside the grading jail.

:class:`JailedKernelManager` is the kernel manager of :class:`SafeExecute`.
Its kernels are started by the jail's server (see :mod:`autograder.jail`),
so they run with the jail's view of the machine (the student's notebook
folder, a private ``/tmp``, no network, no other process in sight) and talk
to nbgrader over ZMQ's ``ipc`` transport through sockets in a folder shared
with the jail.

Grading workers (``grade --jobs N`` sets ``AUTOGRADER_FAST_KERNELS=1``) get
*warm* kernels: forked from the server, which has imported ipykernel, NumPy,
PyTorch and matplotlib once, so a kernel costs milliseconds instead of about
3 s of CPU. Plain ``nbgrader autograde`` gets a fresh ``python -m
ipykernel_launcher`` per notebook, as nbgrader would start it. Scores do not
depend on the kernel (see :class:`autograder.nbgrader_ext.JudgeTasks`), so
both give the same gradebook.
"""

from __future__ import annotations

import os
import sys
import uuid

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

__all__ = ["JailedKernelManager", "enabled", "ipc_kernel_manager"]

#: environment variables a kernel keeps; everything else of the grader's (paths of the
#: course, the secret's file) stays outside
_KERNEL_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "COURSE_DEVICE", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS",
               "NBGRADER_EXECUTION", "AUTOGRADER_TASKS", "PYDEVD_DISABLE_FILE_VALIDATION")


def enabled() -> bool:
    return os.environ.get("AUTOGRADER_FAST_KERNELS") == "1"


def _kernel_env(env: dict, jail) -> dict:
    out = {k: v for k, v in env.items() if k in _KERNEL_ENV or k.startswith("JPY_")}
    out.update(HOME=jail.home, MPLBACKEND="module://matplotlib_inline.backend_inline",
               MPLCONFIGDIR="/tmp/matplotlib", IPYTHONDIR="/tmp/ipython", PYTHONDONTWRITEBYTECODE="1")
    from .jail import INSIDE_LIB

    out["PYTHONPATH"] = INSIDE_LIB if jail.sandbox else os.environ.get("PYTHONPATH", "")
    out["PATH"] = os.path.dirname(sys.executable) + os.pathsep + out.get("PATH", "/usr/bin:/bin")
    return out


class _JailProvisioner(LocalProvisioner):
    async def launch_kernel(self, cmd, **kwargs):
        from .jail import get_jail

        try:
            start = cmd.index("ipykernel_launcher")
        except ValueError:
            start = -1
        if start < 1 or cmd[start - 1] != "-m":
            raise RuntimeError(f"grading runs Python kernels only (ipykernel), not {' '.join(cmd[:3])}")
        jail = get_jail()
        cwd = str(kwargs.get("cwd") or "")
        if cwd != getattr(jail, "current", None):
            jail.enter(cwd or None)
            jail.current = cwd
        env = _kernel_env(dict(kwargs.get("env") or os.environ), jail)
        env["AUTOGRADER_KERNEL_MEMORY_MB"] = os.environ.get("AUTOGRADER_KERNEL_MEMORY_MB", "4096")
        self.process = jail.spawn("autograder.fastkernel:_kernel_main",
                                  (list(cmd[start + 1:]), jail.home, env, enabled()), kind="kernel")
        self.pid = self.process.pid
        self.pgid = None  # signals go through the jail's server
        self.cwd = jail.home
        return self.connection_info


class JailedKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose kernels start in the grading jail, over ``ipc``."""

    async def _async_pre_start_kernel(self, **kw):
        from .jail import get_jail

        jail = get_jail()
        name = uuid.uuid4().hex[:12]
        self.transport = "ipc"
        self.ip = str(jail.ipc / f"k-{name}")
        self.connection_file = str(jail.ipc / f"kernel-{name}.json")
        if self.provisioner is None:
            self.provisioner = _JailProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                                parent=self)
        return await super()._async_pre_start_kernel(**kw)


def ipc_kernel_manager(folder) -> type:
    """An AsyncKernelManager class whose kernels, outside the jail, talk over ZMQ ``ipc``
    sockets in ``folder`` (the book build, the tests): no TCP port to race another process for,
    and no warning about an unencrypted one. ``folder``'s path must stay short (under about 90
    characters): it names the sockets."""
    prefix = os.path.join(str(folder), "kernel")

    class IpcKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.transport, self.ip = "ipc", prefix

    return IpcKernelManager


def _kernel_main(argv, cwd: str, env: dict, warm: bool) -> None:
    """In the jail: become the kernel (warm: in this forked process; else a fresh Python)."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # what the kernel writes outside ipykernel's capture goes nowhere
        os.dup2(devnull, fd)
    os.chdir(cwd)
    memory_mb = int(env.pop("AUTOGRADER_KERNEL_MEMORY_MB", "0") or 0)
    if memory_mb:
        from .sandbox import _limit_memory

        _limit_memory(memory_mb)
    if not warm:
        os.execve(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv], env)
    os.environ.clear()
    os.environ.update(env)
    sys.path[0:0] = [cwd]  # as `python -m ipykernel_launcher` started there would have it
    sys.argv = ["ipykernel_launcher", *argv]
    import signal

    # the server imported pyplot for the sandbox (Agg): the kernel's first import makes it anew,
    # with the notebook backend, so figures reach the graded notebook
    for name in [n for n in sys.modules if n.startswith(("matplotlib.pyplot", "matplotlib.backends"))]:
        del sys.modules[name]
    if "matplotlib" in sys.modules:
        sys.modules["matplotlib"].rcParams["backend"] = env["MPLBACKEND"]

    signal.signal(signal.SIGINT, signal.default_int_handler)
    from ipykernel.kernelapp import launch_new_instance

    launch_new_instance(argv=argv)
