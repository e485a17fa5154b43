"""Photos kept across a form's error: the form's other fields are sent back as written, and its
photos wait in the attachment store as pending files until the form is sent valid.

A pending photo lives under ``pending/`` in the attachment store; the page carries a signed
reference to it (itsdangerous, the installation's secret key, valid for :data:`MAX_AGE`) in a
hidden field. When the form is finally valid the file moves into the store proper and gets its
attachment row; a photo the resident removes is deleted. Whatever is never sent is deleted by
:meth:`PendingPhotos.sweep` after :data:`MAX_AGE`, which runs each time photos are put pending.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from estatecare.attachments import AttachmentStore, Stored
from estatecare.uploads import ALLOWED, Photo

SALT = "estatecare.pending-photo.v1"
FOLDER = "pending"
MAX_AGE = timedelta(days=1)


@dataclass(frozen=True)
class KeptPhoto:
    """A checked photo in the store: its name as uploaded, its content type and where it is."""

    filename: str
    content_type: str
    stored: Stored


class PendingPhotos:
    """The pending files of ``store`` and the signed references the form carries to them."""

    def __init__(self, store: AttachmentStore, secret: str) -> None:
        self.store = store
        self.pending = AttachmentStore(store.root / FOLDER, max_bytes=store.max_bytes, min_free=store.min_free)
        self._signer = URLSafeTimedSerializer(secret, salt=SALT)

    def reference(self, kept: KeptPhoto) -> str:
        """The signed reference to a pending photo, for the form's hidden field."""
        s = kept.stored
        return str(self._signer.dumps([kept.filename, kept.content_type, s.stored_name, s.size, s.sha256]))

    def read(self, references: list[str]) -> tuple[list[KeptPhoto], int]:
        """The pending photos the form names, and how many of its references were expired or altered."""
        kept: list[KeptPhoto] = []
        lost = 0
        for ref in dict.fromkeys(references):  # each once
            try:
                filename, content_type, name, size, sha256 = self._signer.loads(
                    ref, max_age=int(MAX_AGE.total_seconds())
                )
            except (BadSignature, ValueError, TypeError):
                lost += 1
                continue
            if content_type not in ALLOWED.values() or not _plain(name):
                lost += 1
                continue
            kept.append(KeptPhoto(str(filename), str(content_type), Stored(str(name), int(size), str(sha256))))
        return kept, lost

    def put(self, photo: Photo, now: datetime) -> KeptPhoto:
        """Put a checked photo pending (``StorageFull`` or ``TooLarge`` as the store raises them);
        first remove the pending files nobody sent."""
        self.sweep()
        stored = self.pending.save(photo.data, photo.filename, now=now)
        return KeptPhoto(photo.filename, photo.content_type, stored)

    def claim(self, kept: KeptPhoto) -> KeptPhoto:
        """Move a pending photo into the store proper; FileNotFoundError when it is gone."""
        _move(self.pending.root, self.store.root, kept.stored.stored_name)
        return kept

    def release(self, kept: KeptPhoto) -> KeptPhoto:
        """Move a photo of the store that no attachment row names (its form was refused) back to pending."""
        _move(self.store.root, self.pending.root, kept.stored.stored_name)
        return kept

    def discard(self, kept: KeptPhoto) -> None:
        """Delete a pending photo (removed from the form)."""
        self.pending.delete(kept.stored.stored_name)

    def sweep(self, now: float | None = None) -> int:
        """Delete the pending files older than :data:`MAX_AGE` (file times); how many went."""
        limit = (time.time() if now is None else now) - MAX_AGE.total_seconds()
        gone = 0
        for path in self.pending.root.glob("*/*/*"):
            try:
                if path.is_file() and path.stat().st_mtime < limit:
                    path.unlink()
                    gone += 1
            except FileNotFoundError:  # claimed or swept by another request meanwhile
                continue
        return gone


def _plain(name: str) -> bool:
    """A stored name as the store makes them (``YYYY/MM/<uuid>-<name>``), nothing that climbs out."""
    parts = name.split("/")
    return len(parts) == 3 and all(p and p not in (".", "..") and "\\" not in p for p in parts)


def _move(source: Path, target: Path, name: str) -> None:
    """Move ``name`` from one root to the other (one file system: a rename)."""
    destination = target / name
    destination.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source / name, destination)
    os.utime(destination)  # the sweep counts a day from when the file became pending again
