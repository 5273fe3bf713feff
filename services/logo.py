"""The business's logo: a PNG or JPEG upload checked with Pillow and re-encoded before it is stored,
so what reaches a page or a PDF is a small, plain image we wrote ourselves (no metadata, no trailing
bytes, no second format hiding in the file).

Refused with a message for the person: more than MAX_BYTES, not a PNG or JPEG, more than MAX_PIXELS
(a "decompression bomb": a small file that decodes into gigabytes), or a file that does not decode."""
from __future__ import annotations

import base64
import io
import warnings
from flask_babel import gettext as _

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 25_000_000  # checked from the header, before a pixel is decoded
MAX_SIDE = 1200  # stored at most this wide and high: plenty for a logo at the head of an A4 page
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}


class LogoError(ValueError):
    """Why an upload cannot be the logo, in words for the person who sent it."""


def prepare(data: bytes) -> tuple[bytes, str]:
    """The upload re-encoded (bytes, content type), or LogoError."""
    if not data:
        raise LogoError(_("Choose a PNG or JPEG file."))
    if len(data) > MAX_BYTES:
        raise LogoError(_("The file is %(size).1f MB: a logo may be %(limit)d MB at most. Save it smaller (a logo "
                          "needs no more than about 1200 pixels across).", size=len(data) / 1024 / 1024,
                          limit=MAX_BYTES // 1024 // 1024))
    try:
        with warnings.catch_warnings():
            # Pillow warns of, then refuses, images past its own bomb limit: both are refusals here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise LogoError(_too_many_pixels(width, height))
                kind = image.format
                _refuse_truncated(data, kind)
                image.load()
                image = ImageOps.exif_transpose(image)
    except LogoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise LogoError(_("The image holds far more pixels than a logo needs (at most %(millions)d million). Save "
                          "it smaller.", millions=MAX_PIXELS // 1_000_000)) from None
    except UnidentifiedImageError:
        raise LogoError(_("This file is not a PNG or JPEG image. Save the logo as PNG or JPEG and try "
                          "again.")) from None
    except (OSError, SyntaxError, ValueError):  # truncated or corrupt data past a valid header
        raise LogoError(_("This image could not be read: the file may be damaged. Save it again as PNG or "
                          "JPEG.")) from None
    return _encode(image, kind), FORMATS[kind]


def _refuse_truncated(data: bytes, kind: str) -> None:
    """WeasyPrint sets Pillow's LOAD_TRUNCATED_IMAGES for the whole process, so a cut-off upload would load
    as a half-grey picture without a word: check the file's end ourselves (a PNG's chunk checksums up to
    its IEND, a JPEG's end-of-image marker)."""
    if kind == "PNG":
        with Image.open(io.BytesIO(data), formats=["PNG"]) as again:
            again.verify()
    elif not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise OSError("the JPEG has no end-of-image marker")


def _too_many_pixels(width: int, height: int) -> str:
    return _("The image is %(width)d × %(height)d pixels: a logo may have at most %(millions)d million. Save it "
             "smaller.", width=width, height=height, millions=MAX_PIXELS // 1_000_000)


def _encode(image: Image.Image, kind: str) -> bytes:
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    if kind == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=90, optimize=True)
    else:
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=True)
    return out.getvalue()


def data_uri(logo: bytes | None, content_type: str) -> str | None:
    """The stored logo as a data: URI: a page and a PDF show it with no request of their own."""
    if not logo or content_type not in FORMATS.values():
        return None
    return f"data:{content_type};base64,{base64.b64encode(logo).decode('ascii')}"
