"""Tables on a phone are stacked rows, each value with its label: in Chromium at 390 px, with the app's CSS,
a label keeps its words whole next to a long value, and a value in parts (a rate and its badge) stays together."""
import pytest

from tests.browser import screenshot

pytestmark = pytest.mark.browser

ROW = """<table class="list stack"><thead><tr><th>Description</th><th>Rate</th></tr></thead><tbody><tr>
  <td data-label="Description">Website redesign / Development, Website redesign / Design · $90.00/h (default)</td>
  <td data-label="Rate"><span>$90.00</span> <span class="badge">default</span></td></tr></tbody></table>"""

BROKEN_LABELS = """() => {
  const canvas = document.createElement('canvas').getContext('2d');
  return [...document.querySelectorAll('table.list.stack td[data-label]')].filter(td => {
    const label = getComputedStyle(td, '::before');
    canvas.font = `${label.fontWeight} ${label.fontSize} ${label.fontFamily}`;
    const longest = Math.max(...td.dataset.label.split(/\\s+/).map(word => canvas.measureText(word).width));
    return parseFloat(label.width) + 0.5 < longest;
  }).map(td => td.dataset.label);
}"""


def test_a_stacked_row_keeps_its_labels_whole_and_a_value_in_parts_together(page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/login")
    page.evaluate("html => document.querySelector('main').insertAdjacentHTML('afterbegin', html)", ROW)
    assert page.evaluate(BROKEN_LABELS) == [], "a label is broken inside a word"
    price, badge = page.locator("table.list.stack td[data-label=Rate] span").all()
    gap = badge.bounding_box()["x"] - (price.bounding_box()["x"] + price.bounding_box()["width"])
    assert gap < 30, f"the rate and its badge are {gap:.0f} px apart"
    screenshot(page, "stacked-row-390px")
