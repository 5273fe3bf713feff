"""HTML to PDF with WeasyPrint, reading only our own static files: a PDF never fetches from the
network (and never asks our own server, which a single-threaded server could not answer).

WeasyPrint's time grows with the lines (about 2.5 ms a line on a quiet core, bench/pdf.py): a PDF
longer than HOURBILL_PDF_MAX_LINES is refused before rendering starts, with a message, rather than
run past gunicorn's 60 s timeout and end as a killed worker."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher


class StaticFilesOnly(URLFetcher):
    def __init__(self, static: Path):
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False)
        self.static = static

    def fetch(self, url, headers=None):
        if url.startswith("data:"):  # the logo and the QR code, inside the page itself
            return super().fetch(url, headers)
        path = Path(unquote(urlsplit(url).path)).resolve()
        if not path.is_relative_to(self.static):
            raise ValueError(f"PDF rendering does not fetch {url!r}")
        return super().fetch(url, headers)


def html_to_pdf(html: str, static_folder: str) -> bytes:
    static = Path(static_folder).resolve()
    fetcher = StaticFilesOnly(static)
    stylesheet = CSS(filename=str(static / "css" / "print.css"), url_fetcher=fetcher)
    return HTML(string=html, base_url=str(static) + "/", url_fetcher=fetcher).write_pdf(stylesheets=[stylesheet])


class TooManyLines(Exception):
    """The invoice is longer than a PDF may be: the message says what to do instead."""


def check_length(lines: int, limit: int) -> None:
    if lines > limit:
        raise TooManyLines(
            f"This invoice has {lines:,} lines, more than the {limit:,} a PDF can hold here. Open the printable "
            "page and print it (your browser can save it as a PDF), or split the lines over several invoices.")
