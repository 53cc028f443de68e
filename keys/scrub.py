"""`keys open --scrub`: copies of opened attachments without their metadata, made by mat2.

Photos carry where and when they were taken, documents who wrote them and on
which machine. A responder who forwards an attachment (to a lawyer, to the
police, to a colleague) should not forward the reporter's identity with it.
mat2 (Debian's `mat2`, the metadata anonymisation toolkit) knows the formats;
we only call it, once per file, where it is installed. The original stays where
`keys open` put it; its scrubbed copy takes the same name in a folder of its
own, `scrubbed/` beside the attachments (`attachments/photo.png` →
`scrubbed/attachments/photo.png`), so no name a reporter chooses can pass for
a scrubbed copy or hide an original from scrubbing. A file mat2 cannot handle
is named, and kept as it is.

mat2 unpacks archives and documents into its temporary folder, and a file is
the reporter's: it may crash mat2, or unpack to gigabytes. So each file is
scrubbed in a private work folder inside OUT (0700, on the same disk as the
plaintext it came from), which is mat2's TMPDIR too and is removed whatever
happens; mat2 runs in a process group of its own with limits on the space its
files take and on its time (`limits`), and is killed when it passes one.
"""
from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import NoReturn

from keys.opened_folder import ATTACHMENTS  # where `keys open` puts a conversation's files
from keys.private_files import create, make_folder

SCRUBBED = "scrubbed"  # OUT/<shard>/<conversation>/scrubbed/<attachments folder>/<name>
_WORK_PREFIX = ".scrubbing-"  # OUT/.scrubbing-*: one file's work folder, removed after it
_ATTACHMENTS = re.compile(rf"{ATTACHMENTS}(-[1-9][0-9]*)?")
_MIB = 1 << 20


class Mat2Missing(Exception):
    """mat2 is not installed on this machine; the message says how to get it."""


@dataclass(frozen=True)
class Limits:
    """What scrubbing one file may take: its work folder's size and its time, each at least a
    floor and growing with the file (a real document unpacks to a few times its size)."""
    space_floor: int = 256 * _MIB
    space_per_byte: int = 8
    seconds_floor: float = 120.0
    seconds_per_mib: float = 2.0
    watch_seconds: float = 0.05  # how often the work folder's size is looked at

    def space(self, size: int) -> int:
        return max(self.space_floor, self.space_per_byte * size)

    def seconds(self, size: int) -> float:
        return self.seconds_floor + self.seconds_per_mib * size / _MIB


@dataclass
class ScrubReport:
    cleaned: list[Path] = field(default_factory=list)
    unsupported: list[Path] = field(default_factory=list)
    stopped: list[tuple[Path, str]] = field(default_factory=list)

    def summary(self) -> str:
        said = f"scrubbed {len(self.cleaned)} {'file' if len(self.cleaned) == 1 else 'files'} " \
               f"(copies in each conversation's {SCRUBBED}/ folder, originals kept)"
        if self.unsupported:
            names = ", ".join(str(p) for p in self.unsupported)
            said += f"; mat2 cannot clean {len(self.unsupported)}, kept as they are: {names}"
        if self.stopped:
            names = ", ".join(f"{p} ({why})" for p, why in self.stopped)
            said += f"; stopped scrubbing {len(self.stopped)}, kept as they are: {names}"
        return said


def _scrubbed_path(original: Path) -> Path:
    return original.parent.parent / SCRUBBED / original.parent.name / original.name


def _entries(folder: Path, folders: bool) -> list[Path]:
    """The real folders (or regular files) in `folder`, never a link to one elsewhere."""
    with os.scandir(folder) as listing:
        return sorted(Path(e.path) for e in listing
                      if (e.is_dir(follow_symlinks=False) if folders else e.is_file(follow_symlinks=False)))


def _to_scrub(out_dir: Path) -> list[Path]:
    """Opened attachments with no scrubbed copy yet (opening again adds only new files, and only
    those are scrubbed), found without following a link at any level: what is scrubbed, and
    where its copy goes, stays inside OUT."""
    # OUT/<shard>/<conversation>/attachments[-N]/ (docs/FORMAT.md, "Opening")
    files = [file for shard in _entries(out_dir, True) if not shard.name.startswith(".")
             for conversation in _entries(shard, True)
             for attachments in _entries(conversation, True) if _ATTACHMENTS.fullmatch(attachments.name)
             for file in _entries(attachments, False)]
    return [p for p in files if not os.path.lexists(_scrubbed_path(p))]


def _limit_file_size(size: int) -> Callable[[], None]:
    def limit() -> None:  # in mat2's process, before it starts: no file it writes passes `size`
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return limit


def _used(folder: Path) -> int:
    used = 0
    for top, _, names in os.walk(folder):
        for name in names:
            try:
                used += os.lstat(os.path.join(top, name)).st_blocks * 512
            except OSError:
                pass  # removed while we looked
    return used


def _run_mat2(mat2: str, work: Path, name: str, space: int, seconds: float,
              watch_seconds: float) -> tuple[int | None, str]:
    """mat2 on `work/name`, inside `work`, killed with its workers past `space` or `seconds`;
    (exit status or None if stopped, why it was stopped). Twice `space` is also the most any
    one file may take (RLIMIT_FSIZE), in case a file grows faster than `work` is watched: a
    mat2 stopped by it leaves more than `space`, so it is told apart from one that failed."""
    env = {**os.environ, "TMPDIR": str(work), "TMP": str(work), "TEMP": str(work)}
    # "--" so that a file name can never be read as an option.
    process = subprocess.Popen([mat2, "--", name], cwd=work, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True, preexec_fn=_limit_file_size(2 * space))
    deadline, why = time.monotonic() + seconds, ""
    try:
        while process.poll() is None:
            if time.monotonic() > deadline:
                why = f"took more than {seconds:.0f} s"
            elif _used(work) > space:
                why = f"unpacks to more than {space >> 20} MiB"
            if why:
                break
            time.sleep(watch_seconds)
    finally:
        if process.poll() is None or why:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait()
    if not why and process.returncode != 0 and _used(work) > space:
        why = f"unpacks to more than {space >> 20} MiB"
    return (None, why) if why else (process.returncode, "")


def _copy_in(original: Path, work: Path) -> str:
    """The attachment copied into the work folder under a plain name with its suffix (mat2 goes
    by the suffix); the original is never handed to mat2, so it is never changed."""
    name = "attachment" + original.suffix
    fd = os.open(original, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as source, create(work / name) as copy:
        shutil.copyfileobj(source, copy, 1 << 20)
    return name


def _scrub_one(mat2: str, original: Path, out_dir: Path, limits: Limits, report: ScrubReport) -> None:
    size = original.stat().st_size
    work = Path(tempfile.mkdtemp(prefix=_WORK_PREFIX, dir=out_dir))  # 0700, ours alone
    try:
        name = _copy_in(original, work)
        status, why = _run_mat2(mat2, work, name, limits.space(size), limits.seconds(size),
                                limits.watch_seconds)
        cleaned = work / f"{Path(name).stem}.cleaned{Path(name).suffix}"
        if why:
            report.stopped.append((original, why))
        elif status == 0 and cleaned.is_file() and not cleaned.is_symlink():
            target = _scrubbed_path(original)
            make_folder(target.parent.parent)
            make_folder(target.parent)
            os.chmod(cleaned, 0o600)
            os.replace(cleaned, target)  # a name no link holds: _to_scrub found it free
            report.cleaned.append(target)
        else:
            report.unsupported.append(original)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def scrub_opened(out_dir: Path, limits: Limits = Limits()) -> ScrubReport:
    mat2 = shutil.which("mat2")
    if mat2 is None:
        raise Mat2Missing("--scrub needs mat2, which is not installed here (Debian: apt install mat2); "
                          "the files were opened, with their metadata")
    for stale in out_dir.glob(f"{_WORK_PREFIX}*"):  # left by a run that was killed
        shutil.rmtree(stale, ignore_errors=True)
    report = ScrubReport()
    with _cleaning_up_when_stopped():
        for path in _to_scrub(out_dir):
            _scrub_one(mat2, path, out_dir, limits, report)
    return report


@contextmanager
def _cleaning_up_when_stopped() -> Iterator[None]:
    """SIGTERM or SIGHUP (a closed terminal, a shutdown) end the command through its `finally`s,
    so mat2 is killed and its work folder removed, as on Ctrl-C."""
    def stop(signum: int, _frame: FrameType | None) -> NoReturn:
        raise SystemExit(128 + signum)
    try:
        previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    except ValueError:  # not the main thread: its caller handles signals
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
