"""Checks on photos attached to the online form: real images of an allowed type and size."""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

#: Pillow format name -> the content type we store and serve.
ALLOWED = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class UploadError(ValueError):
    """A file that is refused; ``code`` names why (type, size, pixels, count)."""

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


def pixel_problem(data: bytes, max_pixels: int) -> str | None:
    """Why an image is refused for its size in pixels, read from its header (nothing is decoded);
    None when it is within ``max_pixels`` or is not an image Pillow knows."""
    # Pillow (~5 MB resident with its image libraries) is imported when a photo or an attachment
    # arrives, not when the web app starts
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(BytesIO(data)) as image:
            width, height = image.size
    except Image.DecompressionBombError as exc:  # past Pillow's own alarm, far past ours
        return f"{exc} At most {max_pixels} pixels are accepted."
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    if width * height > max_pixels:
        return f"the image declares {width} x {height} = {width * height} pixels; at most {max_pixels} are accepted"
    return None


def check_photo(filename: str, data: bytes, max_bytes: int, max_pixels: int = 40_000_000) -> Photo:
    """Accept ``data`` only if it is a JPEG, PNG or WebP image of at most ``max_bytes`` and ``max_pixels``.

    The content decides, not the name or the browser's content type; the pixel count is
    checked from the header, before anything is decoded.
    """
    name = filename.replace("\\", "/").rsplit("/", 1)[-1][:200]
    if len(data) > max_bytes:
        raise UploadError("size", name)
    if pixel_problem(data, max_pixels) is not None:
        raise UploadError("pixels", name)
    from PIL import Image, UnidentifiedImageError  # imported by pixel_problem already

    try:
        with Image.open(BytesIO(data)) as image:
            fmt = image.format or ""
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UploadError("type", name) from exc
    if fmt not in ALLOWED:
        raise UploadError("type", name)
    return Photo(name, ALLOWED[fmt], data)
