"""Accessibility in Chromium: axe-core (vendored in tests/vendor) on every page, at desktop width and
at 390 px, with no page scrolling sideways on a phone."""
import pytest

from tests.browser import LAYOUT_RULES, assert_accessible, axe_violations

pytestmark = pytest.mark.browser


def test_axe_finds_a_violation_it_is_shown(page):
    # The helper must be able to fail: an image without alternative text is a violation.
    page.goto("/login")
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=\"/static/favicon.svg\">')")
    assert "image-alt" in {violation["id"] for violation in axe_violations(page)}
    with pytest.raises(AssertionError, match="image-alt"):
        assert_accessible(page)
    # The layout's rules alone (as at the second width): two tiny buttons side by side are found, the image
    # without alternative text (another rule) is not.
    page.evaluate("""() => {  // styles set through the DOM: the app's CSP refuses style attributes
        const add = (tag, parent, style, text) => { const e = document.createElement(tag);
            Object.assign(e.style, style); e.textContent = text || ''; parent.appendChild(e); return e; };
        const main = document.querySelector('main');
        const tiny = {width: '10px', height: '10px', padding: '0', minWidth: '0', minHeight: '0'};
        add('button', main, tiny, 'a'); add('button', main, tiny, 'b');
    }""")
    assert {violation["id"] for violation in axe_violations(page, rules=LAYOUT_RULES)} == {"target-size"}
