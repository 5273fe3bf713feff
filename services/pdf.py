"""HTML to PDF with WeasyPrint, reading only our own static files: a PDF never fetches from the
network (and never asks our own server, which a single-threaded server could not answer)."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher


class StaticFilesOnly(URLFetcher):
    def __init__(self, static: Path):
        super().__init__(allowed_protocols={"file"}, allow_redirects=False)
        self.static = static

    def fetch(self, url, headers=None):
        path = Path(unquote(urlsplit(url).path)).resolve()
        if not path.is_relative_to(self.static):
            raise ValueError(f"PDF rendering does not fetch {url!r}")
        return super().fetch(url, headers)


def html_to_pdf(html: str, static_folder: str, pdf_variant: str | None = None) -> bytes:
    """pdf_variant: WeasyPrint's, e.g. "pdf/a-3b" for a Factur-X PDF (services/einvoice/facturx.py)."""
    static = Path(static_folder).resolve()
    fetcher = StaticFilesOnly(static)
    stylesheet = CSS(filename=str(static / "css" / "print.css"), url_fetcher=fetcher)
    return HTML(string=html, base_url=str(static) + "/", url_fetcher=fetcher).write_pdf(stylesheets=[stylesheet],
                                                                                     pdf_variant=pdf_variant)
