"""Every user-facing text goes through the gettext catalogue (issue 12), so that a translator can translate
the whole app from messages.po. The screens may stay English; what is checked is that no text is written
straight into a template or a view. Static checks only (no app, no rendering): the templates' HTML and
Jinja expressions, and the Python of blueprints/ and services/ (flash messages, form labels, validator
messages, and the errors whose words reach a page)."""
from __future__ import annotations

import ast
import functools
import builtins
import re
from html.parser import HTMLParser
from pathlib import Path

from jinja2 import Environment, nodes

ROOT = Path(__file__).resolve().parent.parent

# Files whose texts are not wrapped yet (the other half of issue 12's work): emptied when that is done.
NOT_YET: set[str] = set()

# Words that are the same in every language, allowed when a text is made of them alone (with punctuation).
ALLOWED = {"Hourbill", "Clockify", "IBAN", "BIC", "CSV", "PDF", "XML", "API", "Factur-X", "ZUGFeRD", "XRechnung",
           "Peppol", "UBL", "CII", "PNG", "JPEG", "SMTP", "UTC"}

# Messages meant for the operator (a command's output, start-up) or a programming guard, never a page.
OPERATOR_FILES = {"services/deploy_check.py", "services/secrets.py"}
INTERNAL_ERRORS = {"ReadOnlyViolation", "InvalidFacturX"}

TRANSLATORS = {"_", "_l", "gettext", "ngettext", "pgettext", "npgettext", "lazy_gettext", "lazy_ngettext",
               "lazy_pgettext"}
TEXT_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "label", "data-confirm", "hx-confirm",
                   "data-label"}  # data-label: a stacked table's column name on a phone (CSS shows it)
TEXT_KEYWORDS = {name.replace("-", "_") for name in TEXT_ATTRIBUTES} | {"hint", "description", "message"}
POSITIONAL_MESSAGE = {"DataRequired", "InputRequired"}  # WTForms validators whose first argument is the message
NOT_TEXT = {"class", "class_", "action", "url", "href", "id", "name", "autocomplete", "type", "inputmode"}  # arguments
NOT_TEXT_FUNCTIONS = {"url_for", "csrf_token", "range", "dict", "zoneinfo"}


def pending(relative: str) -> bool:
    return any(relative == entry or (entry.endswith("/") and relative.startswith(entry)) for entry in NOT_YET)


def has_words(text: str) -> bool:
    """A text someone reads: a letter outside format codes (%Y, %(name)s), not made of allowed tokens alone."""
    text = re.sub(r"%\([a-z_]+\)[sdf]|%[a-zA-Z]", "", text)
    words = re.findall(r"[^\W\d_][\w-]*", text)
    return any(word not in ALLOWED for word in words)


def looks_like_text(value: str) -> bool:
    """A string literal in code that reads as words (not a key, endpoint or CSS class): capitalised or spaced."""
    stripped = re.sub(r"%\([a-z_]+\)[sdf]|%[a-zA-Z]", "", value).strip()
    return has_words(stripped) and (stripped[:1].isupper() or " " in stripped)


# --- templates ------------------------------------------------------------------------------------------

JINJA = Environment(extensions=["jinja2.ext.i18n", "jinja2.ext.do", "jinja2.ext.loopcontrols"])
MARK = "\ue000%d\ue001"
MARKS = re.compile("\ue000(\\d+)\ue001")


def shown_literals(node: nodes.Node) -> list[str]:
    """String literals an expression outputs as they are (a call's result, _('...') included, is not one)."""
    if isinstance(node, nodes.Const):
        return [node.value] if isinstance(node.value, str) else []
    if isinstance(node, nodes.CondExpr):
        return shown_literals(node.expr1) + (shown_literals(node.expr2) if node.expr2 else [])
    if isinstance(node, (nodes.Concat,)):
        return [each for part in node.nodes for each in shown_literals(part)]
    if isinstance(node, (nodes.Add, nodes.Mod, nodes.Or, nodes.And)):
        return shown_literals(node.left) + (shown_literals(node.right) if not isinstance(node, nodes.Mod) else [])
    if isinstance(node, (nodes.Filter,)) and node.node is not None:
        return shown_literals(node.node)
    return []


@functools.lru_cache(maxsize=None)
def expression_literals(source: str) -> list[str]:
    if "'" not in source and '"' not in source:
        return []
    try:
        (output,) = JINJA.parse("{{ %s }}" % source).body
    except Exception:  # noqa: BLE001  (a fragment this simple reader cannot take: the whole-file checks still run)
        return []
    return [text for node in output.nodes for text in shown_literals(node)]


class Texts(HTMLParser):
    def __init__(self, expressions: list[str]):
        super().__init__(convert_charrefs=True)
        self.expressions, self.found, self.skipping = expressions, [], 0

    def check(self, where: str, text: str, strict: bool = True) -> None:
        bare = MARKS.sub(" ", text)
        if has_words(bare):
            self.found.append(f"{where}: {' '.join(bare.split())}")
        for number in MARKS.findall(text):
            for literal in expression_literals(self.expressions[int(number)]):
                if has_words(literal) if strict else looks_like_text(literal):
                    self.found.append(f"{where}: {{{{ {self.expressions[int(number)].strip()} }}}}")

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skipping += 1
        attributes = dict(attrs)
        for name, value in attrs:
            if value is None:
                continue
            if name in TEXT_ATTRIBUTES or (name == "value" and tag == "input" and (
                    attributes.get("type") or "").lower() in ("submit", "button", "reset")):  # a <button> shows its content
                self.check(f"<{tag} {name}>", value)

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping:
            self.check("text", data, strict=False)


def macro_parameters(tree: nodes.Template) -> dict[str, list[str]]:
    return {macro.name: [argument.name for argument in macro.args] for macro in tree.find_all(nodes.Macro)}


MACROS = macro_parameters(JINJA.parse((ROOT / "templates" / "_macros.html").read_text(encoding="utf-8")))


def untranslated_template_texts(source: str) -> list[str]:
    found = []
    tree = JINJA.parse(source)
    # Literals handed to a macro (frame("Filters"), post_button(url, "Delete")) or set into a variable.
    signatures = {**MACROS, **macro_parameters(tree)}
    for call in tree.find_all(nodes.Call):
        name = call.node.name if isinstance(call.node, nodes.Name) else None
        if name in TRANSLATORS:  # what fills a placeholder is a text too: _("Delete %(name)s", name=_("this draft"))
            found += [f"placeholder of {name}: {text!r}" for keyword in call.kwargs
                      for text in shown_literals(keyword.value) if looks_like_text(text)]
            continue
        if name in NOT_TEXT_FUNCTIONS:
            continue
        parameters = signatures.get(name, ())
        arguments = [] if name is None else [argument for position, argument in enumerate(call.args)
                                             if position >= len(parameters) or parameters[position] not in NOT_TEXT]
        arguments += [keyword.value for keyword in call.kwargs
                      if keyword.key in TEXT_KEYWORDS or (name is not None and keyword.key not in NOT_TEXT)]
        for argument in arguments:
            found += [f"argument of {name or 'a method'}: {text!r}" for text in shown_literals(argument)
                      if looks_like_text(text)]
    for assign in tree.find_all(nodes.Assign):
        found += [f"set: {text!r}" for text in shown_literals(assign.node) if looks_like_text(text)]

    text = re.sub(r"\{#.*?#\}", "", source, flags=re.S)
    text = re.sub(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}", "", text, flags=re.S)
    expressions = []

    def mark(match: re.Match) -> str:
        expressions.append(match.group(1))
        return MARK % (len(expressions) - 1)

    text = re.sub(r"\{\{-?(.*?)-?\}\}", mark, text, flags=re.S)
    text = re.sub(r"\{%.*?%\}", "", text, flags=re.S)
    parser = Texts(expressions)
    parser.feed(text)
    parser.close()
    return found + parser.found


TEMPLATES = sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "templates").rglob("*.html"))


def test_every_text_in_a_template_goes_through_the_catalogue():
    """One test for every template (each check is a parse, cheaper than pytest's own cost per test): the
    message names each template with its texts."""
    found = {relative: texts for relative in TEMPLATES if not pending(relative)
             if (texts := untranslated_template_texts((ROOT / relative).read_text(encoding="utf-8")))}
    assert len(TEMPLATES) > 50 and found == {}, found


# --- Python ------------------------------------------------------------------------------------------------

def is_translated(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and getattr(node.func, "id", None) in TRANSLATORS


def untranslated(node: ast.expr | None, words=has_words) -> bool:
    """A text written straight into the code: a literal, an f-string, or one joined, formatted or chosen from them."""
    if node is None or is_translated(node):
        return False
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and words(node.value)
    if isinstance(node, ast.JoinedStr):
        return any(untranslated(part.value if isinstance(part, ast.FormattedValue) else part, words) or (
            isinstance(part, ast.Constant) and words(part.value)) for part in node.values)
    if isinstance(node, ast.BinOp):
        return untranslated(node.left, words) or untranslated(node.right, words)
    if isinstance(node, ast.IfExp):
        return untranslated(node.body, words) or untranslated(node.orelse, words)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return untranslated(node.func.value, words)
    return False


def function_name(call: ast.Call) -> str | None:
    return call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)


def untranslated_python_texts(source: str, relative: str) -> list[str]:
    found, lines = [], source.splitlines()

    def say(node: ast.AST, what: str) -> None:
        found.append(f"line {node.lineno}: {what}: {lines[node.lineno - 1].strip()[:90]}")

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = function_name(node)
            keywords = {keyword.arg: keyword.value for keyword in node.keywords}
            if name in TRANSLATORS and name != "ngettext" and node.args:
                # The text itself, with named placeholders: _("Sent to %(name)s", name=...), never an f-string.
                text = node.args[0]
                if isinstance(text, (ast.JoinedStr, ast.BinOp)) or (
                        isinstance(text, ast.Call) and getattr(text.func, "attr", None) == "format"):
                    say(node, "a translated text must be a plain string")
                elif isinstance(text, ast.Constant) and re.search(r"%[sdfr]", str(text.value)):
                    say(node, "use named placeholders, %(name)s")
            if name == "flash" and node.args and untranslated(node.args[0]):
                say(node, "flash message")
            if name and name.endswith("Field") and name[:1].isupper():
                if untranslated(node.args[0] if node.args else keywords.get("label")):
                    say(node, "form label")
                if untranslated(keywords.get("description")):
                    say(node, "form description")
                choices = keywords.get("choices")
                if isinstance(choices, (ast.List, ast.Tuple)):
                    for choice in choices.elts:
                        if isinstance(choice, ast.Tuple) and len(choice.elts) == 2 and untranslated(choice.elts[1]):
                            say(choice, "choice label")
                render = keywords.get("render_kw")
                if isinstance(render, ast.Dict):
                    for key, value in zip(render.keys, render.values):
                        if isinstance(key, ast.Constant) and key.value in TEXT_ATTRIBUTES and untranslated(value):
                            say(value, f"{key.value} of a field")
            if untranslated(keywords.get("message")) or (
                    name in POSITIONAL_MESSAGE and node.args and untranslated(node.args[0])):
                say(node, "message")
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
            # An error of ours (not a built-in one) carries words a page shows, unless it is for the operator.
            name = function_name(node.exc)
            if (name and not hasattr(builtins, name) and name not in INTERNAL_ERRORS
                    and relative not in OPERATOR_FILES and untranslated(node.exc.args[0], looks_like_text)):
                say(node.exc, f"the words of {name}")
    return sorted(found, key=lambda each: int(each.split(":")[0].split()[1]))


PYTHON = sorted(path.relative_to(ROOT).as_posix() for folder in ("blueprints", "services")
                for path in (ROOT / folder).rglob("*.py"))


def test_every_text_a_view_or_service_shows_goes_through_the_catalogue():
    """One test for every module, as for the templates: the message names each module with its texts."""
    found = {relative: texts for relative in PYTHON if not pending(relative)
             if (texts := untranslated_python_texts((ROOT / relative).read_text(encoding="utf-8"), relative))}
    assert len(PYTHON) > 50 and found == {}, found


# --- the checks themselves ---------------------------------------------------------------------------------

def test_the_template_check_finds_texts_written_straight_in_and_passes_wrapped_ones():
    found = untranslated_template_texts(
        '{% from "_macros.html" import frame %}{# a comment #}<h1>Invoices</h1><p>{{ _("Saved") }}</p>'
        '<input type="submit" value="Save"><input name="q" value="{{ q }}"><a title="Open it">x</a>'
        '<img alt="{{ _(\'Logo\') }}"><script>var a = "text";</script>{% trans %}Sent to {{ name }}{% endtrans %}'
        "<p>{{ 'Yes' if ok else _('No') }}</p><td data-label=\"Hours\">{{ _('Of %(name)s', name=x or 'this business') }}</td><td>IBAN</td><td>{{ n }} h</td>{% call frame(\"Filters\") %}{% endcall %}"
        "<b class=\"{{ 'active' if on }}\">{{ url_for('index') }}</b>{{ post_button(url, 'Delete', 'link danger') }}")
    assert found == ["placeholder of _: 'this business'", "argument of frame: 'Filters'",
                     "argument of post_button: 'Delete'", "text: Invoices", "<input value>: Save", "<a title>: Open it",
                     "text: x", "text: {{ 'Yes' if ok else _('No') }}", "<td data-label>: Hours", "text: h"]


def test_the_python_check_finds_texts_written_straight_in_and_passes_wrapped_ones():
    found = untranslated_python_texts(
        'flash("Saved.")\nflash(_("Saved."))\nflash(f"Sent to {name}")\nflash(str(error))\n'
        'name = StringField("Name", validators=[DataRequired(message="Enter a name."), InputRequired("Say.")])\n'
        'email = StringField(_l("Email"), validators=[Length(max=5, message=_l("Too long."))])\n'
        'kind = SelectField(_l("Kind"), choices=[("a", "Admin"), ("b", _l("Both"))])\n'
        'raise MemberChangeRefused("You cannot.")\nraise ValueError("Internal.")\n'
        'raise NotAllowed("connection.manage")\nflash(_(f"Hi {name}"))\nflash(_("Sent to %s") % name)\n',
        "services/members.py")
    assert [each.split(": ")[1] for each in found] == [
        "flash message", "flash message", "form label", "message", "message", "choice label", "the words of MemberChangeRefused",
        "a translated text must be a plain string", "use named placeholders, %(name)s"]
