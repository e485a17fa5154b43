"""Checks on photos attached to the online form: real images of an allowed type and size."""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from PIL import Image, UnidentifiedImageError

#: Pillow format name -> the content type we store and serve.
ALLOWED = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class UploadError(ValueError):
    """A file that is refused; ``code`` names why (type, size, count)."""

    def __init__(self, code: str, filename: str) -> None:
        self.code = code
        self.filename = filename
        super().__init__(f"{filename}: {code}")


@dataclass(frozen=True)
class Photo:
    """An accepted photo."""

    filename: str
    content_type: str
    data: bytes


def check_photo(filename: str, data: bytes, max_bytes: int) -> Photo:
    """Accept ``data`` only if it is a JPEG, PNG or WebP image of at most ``max_bytes``.

    The content decides, not the name or the browser's content type.
    """
    name = filename.replace("\\", "/").rsplit("/", 1)[-1][:200]
    if len(data) > max_bytes:
        raise UploadError("size", name)
    try:
        with Image.open(BytesIO(data)) as image:
            fmt = image.format or ""
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UploadError("type", name) from exc
    if fmt not in ALLOWED:
        raise UploadError("type", name)
    return Photo(name, ALLOWED[fmt], data)
