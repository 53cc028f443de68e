"""`keys open --scrub`: copies of opened attachments without their metadata, made by mat2.

Photos carry where and when they were taken, documents who wrote them and on
which machine. A responder who forwards an attachment (to a lawyer, to the
police, to a colleague) should not forward the reporter's identity with it.
mat2 (Debian's `mat2`, the metadata anonymisation toolkit) knows the formats;
we only call it, once per file, where it is installed, and keep the original
beside its copy: `photo.jpg` stays, `photo.cleaned.jpg` is the scrubbed one.
A file mat2 cannot handle is named, and kept as it is.
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from keys.opened_folder import ATTACHMENTS  # where `keys open` puts a conversation's files

CLEANED = ".cleaned"  # what mat2 puts before a scrubbed copy's suffix


class Mat2Missing(Exception):
    """mat2 is not installed on this machine; the message says how to get it."""


@dataclass
class ScrubReport:
    cleaned: list[Path] = field(default_factory=list)
    unsupported: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        said = f"scrubbed {len(self.cleaned)} {'file' if len(self.cleaned) == 1 else 'files'} " \
               f"(originals kept beside each *{CLEANED}.* copy)"
        if self.unsupported:
            names = ", ".join(str(p) for p in self.unsupported)
            said += f"; mat2 cannot clean {len(self.unsupported)}, kept as they are: {names}"
        return said


def _cleaned_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}{CLEANED}{path.suffix}")


def _to_scrub(out_dir: Path) -> list[Path]:
    """Opened attachments with no scrubbed copy yet (opening again adds only new files)."""
    # OUT/<shard>/<conversation>/attachments[-N]/ (docs/FORMAT.md, "Opening")
    files = sorted(p for p in out_dir.glob(f"*/*/{ATTACHMENTS}*/*") if p.is_file())
    return [p for p in files if CLEANED not in p.name and not _cleaned_path(p).exists()]


def scrub_opened(out_dir: Path) -> ScrubReport:
    mat2 = shutil.which("mat2")
    if mat2 is None:
        raise Mat2Missing("--scrub needs mat2, which is not installed here (Debian: apt install mat2); "
                          "the files were opened, with their metadata")
    report = ScrubReport()
    for path in _to_scrub(out_dir):
        # "--" so that a file name can never be read as an option.
        done = subprocess.run([mat2, "--", str(path)], capture_output=True, text=True, timeout=600)
        if done.returncode == 0 and _cleaned_path(path).is_file():
            report.cleaned.append(_cleaned_path(path))
        else:
            report.unsupported.append(path)
    return report
