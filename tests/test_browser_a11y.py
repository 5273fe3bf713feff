"""Accessibility in Chromium: axe-core (vendored in tests/vendor) on every page, at desktop width and
at 390 px, with no page scrolling sideways on a phone."""
import pytest

from tests.browser import assert_accessible, axe_violations

pytestmark = pytest.mark.browser


def test_axe_finds_a_violation_it_is_shown(page):
    # The helper must be able to fail: an image without alternative text is a violation.
    page.goto("/login")
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=\"/static/favicon.svg\">')")
    assert "image-alt" in {violation["id"] for violation in axe_violations(page)}
    with pytest.raises(AssertionError, match="image-alt"):
        assert_accessible(page)
