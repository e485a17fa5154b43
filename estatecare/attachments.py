"""The attachment store: files of complaints (photos, scanned letters) on a local directory.

``ESTATECARE_ATTACHMENTS_DIR`` (default ``var/attachments``). A file is written to a
temporary name, flushed and fsynced, then renamed into place, so a reader never sees half
a file. Before writing, the store refuses a file that would leave less than
``ESTATECARE_ATTACHMENTS_MIN_FREE_MB`` free; a disk that fills up meanwhile (ENOSPC,
EDQUOT) removes the partial file. Both are :class:`StorageFull`: a clear error for the
caller, and the complaint itself is untouched (its row lives in the database).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from estatecare.settings import Settings

_NO_ROOM = {errno.ENOSPC, errno.EDQUOT}
_UNSAFE = re.compile(r"[^\w.\-]+")
MB = 1024 * 1024


class StorageFull(OSError):
    """The attachment store has no room for this file; nothing was stored."""


class TooLarge(ValueError):
    """The file is larger than the configured maximum."""


@dataclass(frozen=True)
class Stored:
    """Where a file went and what it was."""

    stored_name: str  # relative to the store's root
    size: int
    sha256: str


@dataclass(frozen=True)
class AttachmentStore:
    """Files under ``root``; ``min_free`` bytes are always left free."""

    root: Path
    max_bytes: int = 10 * MB
    min_free: int = 64 * MB

    @classmethod
    def from_settings(cls, settings: Settings) -> AttachmentStore:
        """The store configured by ``ESTATECARE_ATTACHMENTS_*``."""
        return cls(
            settings.attachments_path,
            max_bytes=int(settings.attachments_max_mb * MB),
            min_free=int(settings.attachments_min_free_mb * MB),
        )

    def save(self, data: bytes, filename: str, *, now: datetime | None = None) -> Stored:
        """Store ``data``; raises :class:`TooLarge` or :class:`StorageFull` and leaves nothing behind."""
        if len(data) > self.max_bytes:
            raise TooLarge(f"the file has {len(data)} bytes; at most {self.max_bytes} are accepted")
        when = now or datetime.now(UTC)
        folder = self.root / f"{when:%Y}" / f"{when:%m}"
        incoming = self.root / ".incoming"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            incoming.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            if exc.errno in _NO_ROOM:
                raise StorageFull(exc.errno, self._full_message()) from exc
            raise
        free = shutil.disk_usage(self.root).free
        if free - len(data) < self.min_free:
            raise StorageFull(errno.ENOSPC, self._full_message(free))
        name = f"{uuid.uuid4().hex}-{_safe(filename)}"
        temp = incoming / name
        try:
            with temp.open("xb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, folder / name)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            if exc.errno in _NO_ROOM:
                raise StorageFull(exc.errno, self._full_message()) from exc
            raise
        return Stored(f"{when:%Y}/{when:%m}/{name}", len(data), hashlib.sha256(data).hexdigest())

    def read(self, stored_name: str) -> bytes:
        """The bytes of a stored file."""
        return (self.root / stored_name).read_bytes()

    def delete(self, stored_name: str) -> None:
        """Remove a stored file (when the database did not record it)."""
        (self.root / stored_name).unlink(missing_ok=True)

    def _full_message(self, free: int | None = None) -> str:
        left = f" ({free // 1024} KiB free, {self.min_free // 1024} KiB kept in reserve)" if free is not None else ""
        return f"the attachment storage is full{left}"


def _safe(filename: str) -> str:
    """A file-system-safe version of the uploaded name (kept short; the original is in the database)."""
    base = _UNSAFE.sub("_", Path(filename).name).strip("._") or "file"
    return base[-80:]
