"""HTML to PDF with WeasyPrint, reading only our own static files: a PDF never fetches from the
network (and never asks our own server, which a single-threaded server could not answer).

WeasyPrint's time and memory grow with every line: about 5.5 ms of CPU and 0.1 MB of memory a line
on a shared 2-core machine at a load of 10-15 (bench/pdf.py; less on a quiet core). A PDF longer than
HOURBILL_PDF_MAX_LINES (2,000 by default: about 11 s and 200 MB more at that rate, a fifth of
gunicorn's 60 s timeout) is refused before rendering starts, with a message, rather than run past
the timeout and end as a killed worker (an 11,000-line invoice took 66 s).

Python's cyclic garbage collector is paused while WeasyPrint works (services/collector.py): the boxes and styles it makes for
every line kept triggering full collections, each walking every object of the app's process, a fifth
of a 1,000-line PDF's CPU time (bench/pdf.py, timed with gc.callbacks). What the render leaves
is freed by reference counting when the document goes, the rest by the first collection after it.

print.css is parsed once per process and each thread keeps one WeasyPrint font configuration between PDFs
(a fixed cost per PDF, about 8% of a 50-line one in instructions). Where the rest goes (cProfile of a
200-line PDF): about 60% laying out, three quarters of it breaking the cells' text into lines (Pango
through Python, several layouts a wrapped description); 25% drawing, a Python loop over every glyph; 10%
the cascade. Each print.css rule tried (zebra rows, flex header, row breaks, pre-line, alignment) moved the
Python calls by 3% or less: the time a line takes is WeasyPrint's own for four cells of text. By library
(callgrind, 100 lines): Python 76% of the instructions, HarfBuzz 5.5%, Pango 3%, zlib 3%, font subsetting 1%,
so a lighter font than DejaVu Sans could win little; the Jinja page itself is 1% (0.06 s of 1,000 lines).
What did move it: WeasyPrint's user-agent stylesheet styled six unused pseudo-elements of every element
(_user_agent_css), and on paper the two heads are two-cell tables rather than flex rows (print.css: WeasyPrint
lays a flex row's items out three times), 70 M instructions a PDF (3% of 100 lines, callgrind).

What a line costs (WeasyPrint 70, a 200-line PDF): a row is 13 to 15 boxes (the row, four cells, a line box and
a text box each, two for a wrapped description), each laid out, its percentages resolved and its background
looked at; Pango shapes a one-line cell's text twice (laying out, drawing) and a description that wraps about
seven times (split_first_line's tries, then drawing each line). Tried and left (by instructions or least CPU):
`font-kerning: none` with `font-variant-ligatures: none` (dearer: a font-features attribute on every layout),
`overflow-wrap: normal` on the descriptions, the optional end tags </td></tr> left out (the parser does more),
`white-space: nowrap` on the figures (already so). The zebra rows cost about 4% (their row backgrounds): kept,
they are the design. HTML parsing (tinyhtml5, pure Python) is about 3% (0.15 s of a 1,000-line PDF).

Python work WeasyPrint repeats for the same style (its rows share computed styles: a few dozen a PDF) is done once
per style on WeasyPrint 70 (install_speedups, below): a Pango context and font description per layout, strut()'s
text key, each box's used margins/paddings/sizes, is_in_normal_flow, the look for a background (and, floats aside,
the search for them). Instructions of a warm 200-line PDF (callgrind): 3.63 G with WeasyPrint's own; about 3.37 G
with the context and strut (-7%); 3.15 G with the used sizes and the flow test too (-13.4%); 2.997 G with the
backgrounds (-17.5%); 2.93 G with no float search (-19.4%). The PDFs are the same byte for byte (tests/test_pdf.py;
`python -m bench.pdf --without-speedups` times WeasyPrint's own). Tried and left: widths of 50% for the two footer
margin boxes (WeasyPrint then measures neither footer text on a page): the same bytes, but -0.35% only."""
from __future__ import annotations

import io
import re
import threading
from contextlib import redirect_stdout
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask_babel import gettext as _

from services.libraries import library_names_only


def _import_weasyprint() -> None:
    """WeasyPrint, without the search for its libraries (services/libraries.py) unless that finds none."""
    try:
        with library_names_only(), redirect_stdout(io.StringIO()):  # its advice, printed before it gives up
            import weasyprint.text.ffi  # noqa: F401
    except OSError:
        import weasyprint.text.ffi  # noqa: F401  (searched for, as WeasyPrint does)


_import_weasyprint()

from weasyprint import CSS, HTML  # noqa: E402  (after _import_weasyprint)
from weasyprint.text.fonts import FontConfiguration  # noqa: E402
from weasyprint.urls import URLFetcher  # noqa: E402

from services import collector  # noqa: E402


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


def html_to_pdf(html: str, static_folder: str, pdf_variant: str | None = None) -> bytes:
    """pdf_variant: WeasyPrint's, e.g. "pdf/a-3b" for a Factur-X PDF (services/einvoice/facturx.py)."""
    static = Path(static_folder).resolve()
    fetcher = StaticFilesOnly(static)
    with collector.paused():
        stylesheet = _print_css(static, (static / "css" / "print.css").stat().st_mtime_ns)
        return _Page(string=html, base_url=str(static) + "/", url_fetcher=fetcher).write_pdf(
            stylesheets=[stylesheet], pdf_variant=pdf_variant, font_config=_fonts())


class _Page(HTML):
    """Our pages, with WeasyPrint's user-agent stylesheet less what no invoice uses (_user_agent_css)."""

    def _ua_stylesheets(self, forms=False):  # WeasyPrint's own tests override it the same way (its FakeHTML)
        return [_user_agent_css(), *super()._ua_stylesheets(forms)[1:]]


@lru_cache(maxsize=1)
def _user_agent_css() -> CSS:
    """WeasyPrint's HTML user-agent stylesheet gives every element ::footnote-call, ::footnote-marker, ::note-call,
    ::note-marker, ::note-callback and ::marker styles, and it computes each of them for each element: 6 of every
    7 styles of a PDF (36 a line, 3,657 of 100 lines), and most of the garbage the collector then walks. An
    invoice floats nothing to a footnote or a note, and only list items have markers: without the footnote and
    note rules, and with ::marker for li only, the same pages come out (byte for byte), with 6% fewer instructions
    (callgrind, a 100-line PDF: 2.24 G -> 2.10 G) and a third of the cyclic garbage (45,900 -> 15,900 objects)."""
    from weasyprint.html import UA, UA_COUNTER_STYLE

    rules = re.sub(r"(?m)^::(footnote|note)-[a-z]+ \{[^}\n]*\}\n", "", UA)
    rules = re.sub(r"(?m)^::marker \{", "li::marker {", rules)
    return CSS(string=rules, counter_style=UA_COUNTER_STYLE)


@lru_cache(maxsize=4)
def _print_css(static: Path, mtime_ns: int) -> CSS:
    """print.css parsed once per process, again when the file changes (mtime_ns): rendering only reads it,
    so threads share it."""
    return CSS(filename=str(static / "css" / "print.css"), url_fetcher=StaticFilesOnly(static))


_per_thread = threading.local()


def _fonts() -> FontConfiguration:
    """One font configuration per thread, kept between PDFs: a new one loads Fontconfig's configuration and
    opens the fonts again, with their glyph caches empty. Per thread, as Pango's font maps are not
    thread-safe."""
    if not hasattr(_per_thread, "fonts"):
        _per_thread.fonts = FontConfiguration()
    return _per_thread.fonts


# WeasyPrint 70 (pinned <71 in pyproject.toml): work it repeats for the same style, done once per style.
# Rows that look alike share one computed style (WeasyPrint's own cache), so a 200-line PDF has a few dozen.
# Each override gives the same PDF byte for byte (tests/test_pdf.py renders with and without them); on another
# WeasyPrint version none is installed and its own functions run.

def _shared_pango_setup(original):
    """Layout.setup, called for every Pango layout (two to seven a table cell: laying out, then drawing), made a
    new Pango context, set its direction and language, and built a font description, the same for every cell of
    a style. Per style, the context and description are made once (per font configuration, so per thread, as
    Pango's font maps are not thread-safe) and each layout only is new. Styles with text decorations or font
    features keep WeasyPrint's own setup (their metrics and attribute lists are per layout)."""
    from weasyprint.text.constants import LST_TO_ISO, PANGO_DIRECTION
    from weasyprint.text.ffi import ffi, gobject, pango, unicode_to_char_p
    from weasyprint.text.fonts import font_features, get_font_description

    def shared(style):
        if style["text_decoration_line"] != "none" or font_features(
                style["font_kerning"], style["font_variant_ligatures"], style["font_variant_position"],
                style["font_variant_caps"], style["font_variant_numeric"], style["font_variant_alternates"],
                style["font_variant_east_asian"], style["font_feature_settings"]):
            return None
        context = ffi.gc(pango.pango_font_map_create_context(style.font_config.font_map), gobject.g_object_unref)
        pango.pango_context_set_round_glyph_positions(context, False)
        pango.pango_context_set_base_dir(context, PANGO_DIRECTION[style["direction"]])
        override = style["font_language_override"]
        lang = LST_TO_ISO.get(override.lower(), override) if override != "normal" else style["lang"]
        if lang:
            language = pango.pango_language_from_string(unicode_to_char_p(lang)[0])
            pango.pango_context_set_language(context, language)
        else:
            language = pango.pango_language_get_default()
        return context, language, get_font_description(style)

    def setup(layout, style):
        try:
            kept = style.__dict__["_hourbill_pango"]
        except KeyError:
            kept = style.__dict__["_hourbill_pango"] = shared(style)
        if kept is None:
            return original(layout, style)
        context, layout.language, description = kept
        layout.style, layout.first_line_direction = style, 0
        layout.layout = ffi.gc(pango.pango_layout_new(context), gobject.g_object_unref)
        pango.pango_layout_set_auto_dir(layout.layout, False)
        pango.pango_layout_set_font_description(layout.layout, description)
        layout.ascent = layout.underline_position = layout.strikethrough_position = None

    return setup


def _strut_per_style(original):
    """strut(style), the line height and baseline of a style, asked for every line box and text box: WeasyPrint
    keeps its result per font configuration under a key it builds each time as the text of a 14-value tuple.
    Kept on the style, the key is built once per style."""
    def strut(style):
        try:
            return style.__dict__["_hourbill_strut"]
        except KeyError:
            kept = style.__dict__["_hourbill_strut"] = original(style)
            return kept

    return strut


_USED = ("margin_left", "margin_right", "margin_top", "margin_bottom", "padding_left", "padding_right", "padding_top",
         "padding_bottom", "width", "min_width", "max_width", "height", "min_height", "max_height",
         "border_top_width", "border_right_width", "border_bottom_width", "border_left_width")


def _percentages_per_style(original):
    """resolve_percentages(box, containing_block) sets a box's margins, paddings, sizes and borders from its style
    and its containing block's size, 14 lookups and conversions for each box laid out (each cell, line and text
    of each row, again on every pass). The same style in the same size of block gives the same values: they are
    kept on the style, per size. Collapsed borders (set by the table, per box) and a box-sizing other than
    content-box (read back from the box) keep WeasyPrint's own."""
    from weasyprint.formatting_structure.boxes import Box, PageBox

    def resolve_percentages(box, containing_block):
        style = box.style
        if style["border_collapse"] == "collapse" or style["box_sizing"] != "content-box":
            return original(box, containing_block)
        if isinstance(containing_block, Box):
            size = containing_block.width, containing_block.height, isinstance(box, PageBox)
        else:
            size = *containing_block, isinstance(box, PageBox)
        try:
            kept = style.__dict__["_hourbill_used"]
        except KeyError:
            kept = style.__dict__["_hourbill_used"] = {}
        if (values := kept.get(size)) is None:
            original(box, containing_block)
            kept[size] = {name: getattr(box, name) for name in _USED}
        elif type(box).__setattr__ is object.__setattr__:
            box.__dict__.update(values)  # what setattr does for each, in one call
        else:  # an AbsolutePlaceholder passes them on to its box
            for name, value in values.items():
                setattr(box, name, value)

    return resolve_percentages


def _in_flow_per_style(original):
    """Box.is_in_normal_flow() reads the style five times through five methods, for each box at each step of
    laying it out; it depends on the style only (but for a flex item, whose is_floated WeasyPrint replaces)."""
    def is_in_normal_flow(box):
        if "is_floated" in box.__dict__:
            return original(box)
        try:
            return box.style.__dict__["_hourbill_in_flow"]
        except KeyError:
            kept = box.style.__dict__["_hourbill_in_flow"] = original(box)
            return kept

    return is_in_normal_flow


def _bare_per_style(original):
    """layout_box_backgrounds(page, box, ...) looks at the radii, border image, mask, background images and colour
    and shadow of each box's style to find, for nearly every box, nothing to paint. A style found bare once (no
    radius, border image, mask, shadow, background image or colour) gives its boxes square corners and no
    background at once; others, the page and the root's canvas keep WeasyPrint's own."""
    from weasyprint.draw.color import get_color

    def bare(style):
        return (not style["box_shadow"]
                and all((0, "px") in style[f"border_{corner}_radius"]
                        for corner in ("top_left", "top_right", "bottom_right", "bottom_left"))
                and style["border_image_source"][0] == "none" and style["mask_border_source"][0] == "none"
                and (style["visibility"] == "hidden" or (
                    all(kind != "url" and not value for kind, value in style["background_image"])
                    and get_color(style, "background_color").alpha == 0)))

    def layout_box_backgrounds(page, box, get_image_from_uri, layout_children=True, style=None):
        if style is not None or box is page:
            return original(page, box, get_image_from_uri, layout_children, style)
        try:
            is_bare = box.style.__dict__["_hourbill_bare"]
        except KeyError:
            is_bare = box.style.__dict__["_hourbill_bare"] = bare(box.style)
        if not is_bare:
            return original(page, box, get_image_from_uri, layout_children, style)
        box.border_top_left_radius = box.border_top_right_radius = (0, 0)
        box.border_bottom_right_radius = box.border_bottom_left_radius = (0, 0)
        if layout_children:
            for child in box.all_children():
                layout_box_backgrounds(page, child, get_image_from_uri)
        box.background = None

    return layout_box_backgrounds


def _no_floats(original):
    """avoid_collisions(context, box, containing_block) places a box beside the floats of its formatting context,
    asked three times for each line box; an invoice floats nothing. With no float about (and left to right), the
    box keeps its place and the containing block's width, in the same arithmetic as WeasyPrint's, without its
    search; otherwise WeasyPrint's own runs."""
    def avoid_collisions(context, box, containing_block, outer=True):
        if context.excluded_shapes or containing_block.style["direction"] != "ltr":
            return original(context, box, containing_block, outer)
        position_y = box.position_y if outer else box.border_box_y()
        if box.border_height() == 0 and box.is_floated():
            return 0, position_y, containing_block.width
        left = containing_block.content_box_x()
        right = left + containing_block.width
        if outer:
            return left, position_y, right - left
        left += box.margin_left
        right -= box.margin_right
        return left - box.margin_left, position_y - box.margin_top, right - left

    return avoid_collisions


def _speedups() -> list[tuple[object, str, object]]:
    """(module or class, name, our function) for each override, [] on a WeasyPrint other than 70."""
    import weasyprint
    from weasyprint.css import computed_values, units
    from weasyprint.formatting_structure.boxes import Box
    from weasyprint.layout import absolute, background, block, column, grid, inline, page, percent, table
    from weasyprint.layout import float as floats
    from weasyprint.text import line_break

    if weasyprint.__version__.split(".")[0] != "70":
        return []
    strut = _strut_per_style(line_break.strut)
    percentages = _percentages_per_style(percent.resolve_percentages)
    no_floats = _no_floats(floats.avoid_collisions)
    return [(line_break.Layout, "setup", _shared_pango_setup(line_break.Layout.setup)),
            (Box, "is_in_normal_flow", _in_flow_per_style(Box.is_in_normal_flow)),
            (background, "layout_box_backgrounds", _bare_per_style(background.layout_box_backgrounds)),
            *((module, "strut", strut) for module in (line_break, inline, units, computed_values)),
            *((module, "avoid_collisions", no_floats) for module in (floats, block, inline)),
            *((module, "resolve_percentages", percentages)
              for module in (percent, absolute, block, column, floats, grid, inline, page, table))]


_SPEEDUPS = _speedups()
_ORIGINALS = [(owner, name, getattr(owner, name)) for owner, name, _ in _SPEEDUPS]


def install_speedups(on: bool = True) -> None:
    """WeasyPrint's own functions back (on=False: the tests compare both PDFs), or ours again."""
    for owner, name, function in (_SPEEDUPS if on else _ORIGINALS):
        setattr(owner, name, function)


install_speedups()


class TooManyLines(Exception):
    """The invoice is longer than a PDF may be: the message says what to do instead."""


def check_length(lines: int, limit: int) -> None:
    if lines > limit:
        raise TooManyLines(
            _("This invoice has %(lines)s lines, more than the %(limit)s a PDF can hold here. Open the printable "
              "page and print it (your browser can save it as a PDF), or split the lines over several invoices.",
              lines=format(lines, ","), limit=format(limit, ",")))
