"""The jail every process that runs student code lives in, while grading.

Built on bubblewrap (``bwrap``, Debian package ``bubblewrap``): unprivileged,
a few milliseconds to start, and kept by the Flatpak project. A grading
process (a worker of ``grade --jobs N``, or plain ``nbgrader autograde``)
owns one :class:`Jail`. Inside it one *server* process has imported NumPy,
torch, matplotlib, ipykernel and the course library once; it forks the
notebook's kernel and every sandbox child (see :mod:`autograder.sandbox`).

What the jail gives those processes:

* the system, the Python installation, the virtualenv and a compiled copy of
  ``course`` and ``autograder`` (byte code only, no source files), all
  read-only; nothing else of the machine: not the course root (gradebook,
  ``solutions/``, ``source/``, other students' folders, the secret), not the
  instructor's home;
* a private writable working folder, ``/home/student``, holding one
  student's notebook folder (emptied and refilled for every notebook), and a
  private ``/tmp`` (a size-limited tmpfs);
* no network, its own process, IPC, UTS and user namespaces: it can neither
  see nor signal the grader or another student's processes; every process a
  task or notebook started is killed when it ends (the server sweeps the
  namespace), and all of them die with the grading process;
* limits on memory (per process, set by the caller), processes, file size
  and open files.

Without bubblewrap, grading refuses to run student code unless the instructor
says ``--no-sandbox`` (``AUTOGRADER_NO_SANDBOX=1``); then the same server runs
unjailed, with the same protocol and the same limits where they apply.

The protocol between the grading process and the server is small and
bounded: requests are pickled (the grader is trusted), replies are short
JSON lines read with deadlines and a size bound (the server shares a jail
with student code, so nothing it says is trusted beyond its syntax).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import pickle
import py_compile
import select
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["Jail", "JailUnavailable", "sandbox_wanted", "get_jail", "bwrap_path", "INSTALL_HELP",
           "FdConnection", "Reader", "MessageTooLarge"]

INSIDE_HOME = "/home/student"
INSIDE_LIB = "/opt/nn-course/lib"
INSTALL_HELP = ("install bubblewrap, which grading uses to jail student code: `sudo apt-get install -y "
                "bubblewrap` (Debian/Ubuntu), `sudo dnf install -y bubblewrap` (Fedora), or your system's "
                "package; or grade without a jail with --no-sandbox (AUTOGRADER_NO_SANDBOX=1), only for "
                "submissions you trust")

#: limits for every process in the jail
MAX_PROCESSES = 256  # the server kills everything but itself when the namespace holds more
FILE_SIZE_MB = 256
OPEN_FILES = 1024
TMP_SIZE_MB = 512
WORK_SIZE_MB = 200  # a notebook folder larger than this is not copied in (the notebook itself always is)


class JailUnavailable(RuntimeError):
    """Grading cannot jail student code here (and ``--no-sandbox`` was not given)."""


def sandbox_wanted() -> bool:
    return os.environ.get("AUTOGRADER_NO_SANDBOX", "") not in ("1", "true", "yes")


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


_WORKS: dict = {}


def check_available() -> str:
    """The path of a working ``bwrap``; raises :class:`JailUnavailable` saying how to install it."""
    path = bwrap_path()
    if path is None:
        raise JailUnavailable("bubblewrap (bwrap) is not installed - help: " + INSTALL_HELP)
    if path not in _WORKS:
        probe = subprocess.run([path, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
                               capture_output=True, text=True, timeout=30)
        _WORKS[path] = "" if probe.returncode == 0 else (probe.stderr.strip() or f"exit code {probe.returncode}")
    if _WORKS[path]:
        raise JailUnavailable(f"bubblewrap cannot create a jail on this machine ({_WORKS[path]}); user "
                              "namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1) - help: "
                              + INSTALL_HELP)
    return path


# ---------------------------------------------------------------------------
# messages: a length header and the bytes; reads have deadlines and size bounds
# ---------------------------------------------------------------------------

_HEADER = struct.Struct("<Q")


class MessageTooLarge(Exception):
    """The other side announced a message larger than the reader accepts."""


class FdConnection:
    """The writing end the child uses: ``send_bytes`` as multiprocessing's, over a raw pipe."""

    def __init__(self, fd: int):
        self.fd = fd

    def send_bytes(self, data) -> None:
        view = memoryview(_HEADER.pack(len(data)) + bytes(data))
        while view:
            n = os.write(self.fd, view)
            view = view[n:]

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


class Reader:
    """Reads whole messages from a non-blocking descriptor; never waits past a deadline.

    ``recv(timeout, max_bytes)`` returns a message, or None when none was complete
    in time (a message the child started and never finished is simply never
    complete); raises :class:`MessageTooLarge` when a header announces more than
    ``max_bytes`` and ``EOFError`` at the end.
    """

    def __init__(self, fd: int):
        self.fd = fd
        os.set_blocking(fd, False)
        self.buf = bytearray()
        self.eof = False

    def _take(self, max_bytes: int):
        if len(self.buf) < _HEADER.size:
            return None
        (size,) = _HEADER.unpack_from(self.buf)
        if size > max_bytes:
            raise MessageTooLarge(size)
        if len(self.buf) < _HEADER.size + size:
            return None
        msg = bytes(self.buf[_HEADER.size:_HEADER.size + size])
        del self.buf[:_HEADER.size + size]
        return msg

    def recv(self, timeout: float, max_bytes: int):
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            msg = self._take(max_bytes)
            if msg is not None:
                return msg
            if self.eof:
                raise EOFError
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return None
            try:
                chunk = os.read(self.fd, 1 << 20)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self.eof = True
            else:
                self.buf += chunk

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


# ---------------------------------------------------------------------------
# the library, as byte code only
# ---------------------------------------------------------------------------

def _packages() -> list[Path]:
    import autograder
    import course

    return [Path(course.__file__).parent, Path(autograder.__file__).parent]


def library_dir() -> Path:
    """A folder with ``course`` and ``autograder`` compiled to byte code (no ``.py`` files),
    built once per version of their sources, shared by the grading processes."""
    packages = _packages()
    digest = hashlib.sha256(sys.version.encode())
    files = []
    for pkg in packages:
        for path in sorted(pkg.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".md"):
                files.append((pkg, path))
                digest.update(str(path.relative_to(pkg.parent)).encode())
                digest.update(path.read_bytes())
    base = Path(tempfile.gettempdir()) / f"nn-course-lib-{os.getuid()}"
    target = base / digest.hexdigest()[:20]
    if target.is_dir():
        return target
    base.mkdir(mode=0o700, exist_ok=True)
    build = Path(tempfile.mkdtemp(dir=base, prefix=".build-"))
    for pkg, path in files:
        dest = build / path.relative_to(pkg.parent)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".py":
            py_compile.compile(str(path), cfile=str(dest.with_suffix(".pyc")),
                               dfile=f"{INSIDE_LIB}/{path.relative_to(pkg.parent)}",
                               doraise=True, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        else:
            shutil.copyfile(path, dest)
    for path in build.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    build.chmod(0o755)
    try:
        os.rename(build, target)
    except OSError:  # another grading process built it first
        shutil.rmtree(build, ignore_errors=True)
    return target


# ---------------------------------------------------------------------------
# the jail
# ---------------------------------------------------------------------------

_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "passwd", "group",
        "hosts", "alternatives", "fonts", "mime.types", "ssl/certs", "matplotlibrc")


def _bwrap_argv(bwrap: str, lib: Path, work: Path, ipc: Path, extra_ro: list) -> list:
    # --as-pid-1: the server is the namespace's init, to which nobody inside can send SIGKILL or SIGSTOP
    argv = [bwrap, "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--disable-userns", "--as-pid-1",
            # /tmp first: binds below may lie under the machine's /tmp (a virtualenv there) and must stay visible
            "--dev", "/dev", "--proc", "/proc", "--size", str(TMP_SIZE_MB << 20), "--tmpfs", "/tmp",
            "--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    for name in _ETC:
        argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    seen = set()
    for prefix in (sys.base_prefix, sys.prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))):
        prefix = os.path.realpath(prefix)
        if prefix not in seen and not prefix.startswith("/usr/"):
            argv += ["--ro-bind", prefix, prefix]
            seen.add(prefix)
    venv_python = os.path.dirname(sys.executable)
    if os.path.realpath(venv_python) != venv_python and not venv_python.startswith("/usr/"):
        argv += ["--ro-bind", venv_python, venv_python]
    for path in extra_ro:
        argv += ["--ro-bind", str(path), str(path)]
    argv += ["--ro-bind", str(lib), INSIDE_LIB,
             "--bind", str(work), INSIDE_HOME, "--bind", str(ipc), str(ipc), "--chdir", "/"]
    nvidia = sorted(str(p) for p in Path("/dev").glob("nvidia*"))
    for dev in nvidia:  # a GPU machine: the same code path, on CUDA
        argv += ["--dev-bind", dev, dev]
    if nvidia:
        argv += ["--ro-bind-try", "/sys", "/sys"]
    return argv


def _server_env(lib: str | None, home: str) -> dict:
    keep = ("PATH", "LANG", "LC_ALL", "TZ", "COURSE_DEVICE", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS",
            "NBGRADER_EXECUTION", "AUTOGRADER_TASKS")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
    env.update(HOME=home, MPLCONFIGDIR="/tmp/matplotlib", MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1",
               PYTHONUNBUFFERED="1", AUTOGRADER_IN_JAIL="1")
    if lib:
        env["PYTHONPATH"] = lib
    return env


class JailedProcess:
    """A process the server forked: enough of ``multiprocessing.Process`` for the sandbox
    (``is_alive``, ``kill``, ``join``, ``exitcode``) and of ``Popen`` for jupyter_client."""

    stdin = stdout = stderr = None

    def __init__(self, jail: "Jail", ident: int):
        self.jail, self.ident = jail, ident
        self.generation = jail._generation  # a process of a server that was replaced is gone
        self.pid = ident  # what jupyter_client shows; the real pid lives in the jail's namespace

    @property
    def exitcode(self):
        self.jail._pump(0)
        return self.jail._exits.get(self.ident)

    returncode = exitcode

    def server_lost(self) -> bool:
        """Whether the server that forked it has died or been replaced (its children die with it)."""
        return self._gone()

    def _gone(self) -> bool:
        return not self.jail.alive() or self.jail._generation != self.generation

    def is_alive(self) -> bool:
        return self.poll() is None

    def poll(self):
        if self._gone() and self.ident not in self.jail._exits:
            self.jail._exits[self.ident] = -signal.SIGKILL
        return self.exitcode

    def join(self, timeout=None) -> None:
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        while self.poll() is None and time.monotonic() < deadline:
            self.jail._pump(min(0.05, max(0.0, deadline - time.monotonic())))

    def wait(self, timeout=None):
        self.join(timeout)
        if self.poll() is None:
            raise subprocess.TimeoutExpired(f"jailed process {self.ident}", timeout)
        return self.exitcode

    def send_signal(self, sig) -> None:
        if self._gone():
            return
        self.jail._request({"op": "signal", "id": self.ident, "sig": int(sig)})

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class Jail:
    """One grading process's jail: a server inside bubblewrap that forks kernels and sandbox
    children, a working folder for the current notebook, a folder for kernel sockets."""

    def __init__(self, sandbox: bool | None = None):
        self.sandbox = sandbox_wanted() if sandbox is None else sandbox
        self.bwrap = check_available() if self.sandbox else None
        self.root = Path(tempfile.mkdtemp(prefix="nn-course-jail-"))
        self.work = self.root / "work"
        self.ipc = self.root / "ipc"
        self.work.mkdir()
        self.ipc.mkdir()
        self.home = INSIDE_HOME if self.sandbox else str(self.work)
        self._proc = None
        self._sock = None
        self._replies = bytearray()
        self._exits: dict = {}
        self._next = 0
        self._generation = 0
        self._extra_ro: list = []
        atexit.register(self.close)

    # --- the server -------------------------------------------------------
    def _extra_files(self) -> list:
        files = []
        for path in filter(None, os.environ.get("AUTOGRADER_TASKS", "").split(os.pathsep)):
            if os.path.isfile(path):
                files.append(os.path.realpath(path))
        return files

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _start(self) -> None:
        self.close_server()
        self._generation += 1
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.sandbox:
            lib = library_dir()
            self._extra_ro = self._extra_files()
            argv = _bwrap_argv(self.bwrap, lib, self.work, self.ipc, self._extra_ro)
            argv += ["--", *self._server_command(theirs.fileno())]
            env = _server_env(INSIDE_LIB, self.home)
        else:
            argv = self._server_command(theirs.fileno())
            env = _server_env(os.pathsep.join(str(p.parent) for p in _packages()[:1]), self.home)
        self._proc = subprocess.Popen(argv, pass_fds=(theirs.fileno(),), env=env, cwd="/",
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        theirs.close()
        ours.setblocking(False)
        self._sock = ours
        self._replies = bytearray()
        reply = self._wait_for("ready", 120)
        if reply is None:
            why = "it did not start" if self.alive() else f"it exited with code {self._proc.poll()}"
            self.close_server()
            raise RuntimeError(f"the grading jail's server could not start ({why})")

    @staticmethod
    def _server_command(fd: int) -> list:
        return [sys.executable, "-P", "-B", "-c", f"from autograder.jail import _serve; _serve({fd})"]

    def _ensure(self) -> None:
        if not self.alive():
            self._start()

    def _request(self, message: dict, fds=()) -> None:
        if not self.alive():
            return
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        blob = _HEADER.pack(len(data)) + data
        self._sock.setblocking(True)
        try:
            sent = socket.send_fds(self._sock, [blob[:65536]], list(fds)) if fds else self._sock.send(blob[:65536])
            if sent < len(blob):
                self._sock.sendall(blob[sent:])
        except OSError:
            pass
        finally:
            self._sock.setblocking(False)

    def _pump(self, timeout: float) -> list:
        """Read the server's replies (JSON lines, each at most 4 kB) for up to ``timeout`` s."""
        got = []
        if self._sock is None:
            return got
        ready, _, _ = select.select([self._sock], [], [], max(0.0, timeout))
        while ready:
            try:
                chunk = self._sock.recv(65536)
            except BlockingIOError:
                break
            except OSError:
                chunk = b""
            if not chunk:
                break
            self._replies += chunk
            ready, _, _ = select.select([self._sock], [], [], 0)
        while b"\n" in self._replies:
            line, _, rest = bytes(self._replies).partition(b"\n")
            self._replies = bytearray(rest)
            try:
                msg = json.loads(line[:4096])
            except ValueError:
                continue
            if isinstance(msg, dict):
                if msg.get("op") == "exit" and isinstance(msg.get("id"), int) and isinstance(msg.get("code"), int):
                    self._exits[msg["id"]] = msg["code"]
                got.append(msg)
        if len(self._replies) > 65536:  # not a server of ours
            self._replies = bytearray()
        return got

    def _wait_for(self, op: str, timeout: float, ident=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for msg in self._pump(min(0.2, max(0.0, deadline - time.monotonic()))):
                if msg.get("op") == op and (ident is None or msg.get("id") == ident):
                    return msg
            if not self.alive():
                return None
        return None

    # --- what the grader uses ---------------------------------------------
    def enter(self, folder) -> str:
        """Start a new notebook: end every process of the last one, empty the working folder
        and copy ``folder`` (the student's notebook folder) into it. Returns the folder's
        path as the jailed processes see it."""
        self._ensure()
        self.sweep(keep_kernels=False)
        for child in list(self.work.iterdir()):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
        if folder is not None and Path(folder).is_dir():
            _copy_folder(Path(folder), self.work)
        return self.home

    def sweep(self, keep_kernels: bool = True, timeout: float = 10.0) -> None:
        """Kill every process in the jail except the server (and, if asked, live kernels).
        A server that does not answer (stopped or killed by student code) is replaced."""
        if not self.alive():
            return
        self._next += 1
        ident = self._next
        self._request({"op": "sweep", "id": ident, "keep_kernels": keep_kernels})
        if self._wait_for("swept", timeout, ident) is None:
            self.close_server()  # everything in the jail dies with it; the next request starts a new one

    def spawn(self, target: str, args: tuple, fds=(), kind: str = "child") -> JailedProcess:
        """Fork ``target`` ("module:function") in the jail as ``function(*fds, *args)``.
        A server that does not confirm within 15 s is replaced and asked again."""
        for attempt in (1, 2):
            self._ensure()
            self._next += 1
            ident = self._next
            self._request({"op": "spawn", "id": ident, "target": target, "args": args, "kind": kind,
                           "nfds": len(fds)}, fds)
            if self._wait_for("spawned", 15, ident) is not None or attempt == 2:
                return JailedProcess(self, ident)
            self.close_server()
        raise AssertionError("unreachable")  # pragma: no cover

    def close_server(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                try:
                    os.killpg(self._proc.pid, signal.SIGKILL)
                except OSError:
                    self._proc.kill()
                try:
                    self._proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
            self._proc = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def close(self) -> None:
        self.close_server()
        shutil.rmtree(self.root, ignore_errors=True)


def _copy_folder(src: Path, dest: Path) -> None:
    """Copy regular files and folders (no links, no devices) up to :data:`WORK_SIZE_MB` in all."""
    budget = WORK_SIZE_MB << 20
    for path in sorted(src.rglob("*"), key=lambda p: (p.suffix != ".ipynb", len(p.parts))):
        if path.is_symlink() or any(part == "__pycache__" for part in path.relative_to(src).parts):
            continue
        target = dest / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            size = path.stat().st_size
            if size > budget:
                continue
            budget -= size
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


_JAIL: Jail | None = None


def get_jail() -> Jail:
    """This process's jail (created on first use)."""
    global _JAIL
    if _JAIL is None:
        _JAIL = Jail()
    return _JAIL


# ---------------------------------------------------------------------------
# the server, inside the jail
# ---------------------------------------------------------------------------

PRELOAD = ("numpy", "scipy.special", "torch", "matplotlib", "matplotlib.pyplot", "ipykernel.kernelapp", "course",
           "autograder.tasks", "autograder.sandbox", "autograder._preload", "autograder.fastkernel")


def _set_limits() -> None:
    import resource

    for which, value in ((resource.RLIMIT_FSIZE, FILE_SIZE_MB << 20), (resource.RLIMIT_NOFILE, OPEN_FILES),
                         (resource.RLIMIT_CORE, 0)):
        try:
            soft, hard = resource.getrlimit(which)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (value, value))
        except (OSError, ValueError):
            pass
    try:
        procs = sum(1 for _ in os.scandir("/proc") if _.name.isdigit())
        resource.setrlimit(resource.RLIMIT_NPROC, (procs + MAX_PROCESSES, procs + MAX_PROCESSES))
    except (OSError, ValueError):
        pass


def _others(keep: set) -> list:
    me = os.getpid()
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            pid = int(entry.name)
            if pid not in keep and pid != me and pid != 1:
                found.append(pid)
    return found


def empty_folder(top: str) -> None:
    """Remove everything in ``top`` that lives on ``top``'s own file system.

    The jail's ``/tmp`` is a tmpfs, but read-only binds from the machine may lie below it (a
    virtualenv or the course under the machine's ``/tmp``, the kernels' socket folder): those
    are left alone, and never walked, which for a virtualenv means tens of thousands of files
    that could not be removed anyway."""
    try:
        device = os.lstat(top).st_dev
    except OSError:
        return

    def clear(path: str) -> None:
        try:
            entries = list(os.scandir(path))
        except OSError:
            return
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
                if st.st_dev != device:
                    continue  # a mount from outside, or a folder on the way to one
                if stat.S_ISDIR(st.st_mode):
                    clear(entry.path)
                    os.rmdir(entry.path)  # fails, harmlessly, above a mount that stays
                else:
                    os.unlink(entry.path)
            except OSError:
                pass

    clear(top)


def _serve(fd: int) -> None:
    import ctypes
    import importlib

    jailed = os.environ.get("AUTOGRADER_IN_JAIL") == "1" and os.getpid() == 1
    try:
        libc = ctypes.CDLL(None)
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: nobody in the jail may trace it or read its memory
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: it ends with the grading process
    except (OSError, AttributeError):
        pass
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a child that needs it reports the error
            pass
    _set_limits()
    sock = socket.socket(fileno=fd)
    sock.setblocking(True)
    sig_r, sig_w = os.pipe()
    os.set_blocking(sig_w, False)
    signal.set_wakeup_fd(sig_w)
    signal.signal(signal.SIGCHLD, lambda *a: None)
    children: dict = {}  # pid -> (id, kind)
    buf = bytearray()
    pending: list = []  # descriptors received for requests not yet complete

    def reply(msg: dict) -> None:
        try:
            sock.sendall((json.dumps(msg) + "\n").encode())
        except OSError:
            os._exit(0)

    def reap() -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in children:
                ident, _ = children.pop(pid)
                code = os.waitstatus_to_exitcode(status)
                reply({"op": "exit", "id": ident, "code": code})

    def kill_all(keep: set) -> None:
        for _ in range(3):
            pids = _others(keep)
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.02)
            reap()

    def sweep(keep_kernels: bool) -> None:
        keep = {pid for pid, (_, kind) in children.items() if kind == "kernel"} if keep_kernels else set()
        if jailed:
            kill_all(keep)
        else:  # no namespace of our own: each child's session
            for pid, (_, kind) in list(children.items()):
                if pid not in keep:
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except OSError:
                        pass
        reap()
        if not keep and jailed:  # a new notebook: a clean /tmp too
            empty_folder("/tmp")

    def spawn(msg: dict, fds: list) -> None:
        target = msg["target"]
        module, _, func = target.partition(":")
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                os.close(sig_r)
                os.close(sig_w)
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                os.setsid()
                try:
                    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # it dies with the server
                except (OSError, AttributeError):
                    pass
                function = getattr(importlib.import_module(module), func)
                function(*fds, *msg["args"])
            except BaseException:  # noqa: BLE001 - the child's own error handling reports
                pass
            finally:
                os._exit(0)
        for f in fds:
            os.close(f)
        children[pid] = (msg["id"], msg.get("kind", "child"))
        reply({"op": "spawned", "id": msg["id"]})

    reply({"op": "ready", "pid": os.getpid()})
    while True:
        try:
            ready, _, _ = select.select([sock, sig_r], [], [], 0.25)
        except InterruptedError:
            continue
        if sig_r in ready:
            try:
                os.read(sig_r, 4096)
            except OSError:
                pass
        reap()
        if jailed and len(_others(set())) > MAX_PROCESSES:  # a fork bomb: end it
            kill_all(set())
        if sock not in ready:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(sock, 1 << 20, 16)
        except OSError:
            os._exit(0)
        if not data:
            kill_all(set())
            os._exit(0)
        buf += data
        pending += fds
        while len(buf) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(buf)
            if len(buf) < _HEADER.size + size:
                break
            msg = pickle.loads(bytes(buf[_HEADER.size:_HEADER.size + size]))
            del buf[:_HEADER.size + size]
            op = msg.get("op")
            if op == "spawn":
                n = int(msg.get("nfds", 0))
                mine, pending[:] = pending[:n], pending[n:]
                spawn(msg, mine)
            elif op == "signal":
                for pid, (ident, _) in children.items():
                    if ident == msg["id"]:
                        try:
                            os.killpg(pid, msg["sig"]) if msg["sig"] == signal.SIGKILL else os.kill(pid, msg["sig"])
                        except OSError:
                            try:
                                os.kill(pid, msg["sig"])
                            except OSError:
                                pass
            elif op == "sweep":
                sweep(bool(msg.get("keep_kernels")))
                reply({"op": "swept", "id": msg["id"]})


