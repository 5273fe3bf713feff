"""The import wizard's two forms (blueprints/imports.py): the filters a preview asks Clockify with, and
how the ticked entries become lines. Choices come from services.imports and services.lines; each
error is at its field. CSRFProtect guards every POST of the app, so the forms leave the token to it."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import Length, ValidationError

from services import imports
from services.clockify_types import Workspace
from services.lines import (DESCRIPTION_LIMITS, DETAILS, DIRECTION_MESSAGE, GROUPING_LABELS, GROUPING_MESSAGE,
                            LENGTH_MESSAGE, ROUNDING_DIRECTION_LABELS, ROUNDING_MESSAGE, ROUNDING_MINUTES, UNIT_LIMIT,
                            LineOptions, rounding_label)
from services.money import parse_decimal

RATE_LIMIT = Decimal("10000000")
_DEFAULTS = LineOptions()


class _Form(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect (app.py) checks every POST before the view runs


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


def _text(default):
    """A lenient choice: surrounding spaces dropped, an empty value means the default."""
    return lambda value: (value.strip() if isinstance(value, str) else value) or default


def _minutes(value):
    """Whole minutes from the form ("none" is 0); anything else stays as sent, which no choice matches."""
    text = value.strip() if isinstance(value, str) else value
    if text in ("", "none"):
        return 0
    if isinstance(text, str) and text.isascii() and text.isdigit() and len(text) < 10:
        return int(text)
    return text


class FiltersForm(_Form):
    """What to preview: GET /filters shows it (a first visit, or "Change filters"), POST /preview sends it."""

    # What a way back to the workspace step carries through to the filters (the workspace is chosen again
    # there; carried_for names the one these choices belong to).
    CARRIED = ("carried_for", "submitted", "client", "project", "member", "range", "start", "end", "billable",
               "hide_imported")

    connection = StringField()
    workspace = StringField()
    client = StringField()  # left out: the customer's linked Clockify client; sent empty: any client
    project = SelectMultipleField(validate_choice=False)
    member = SelectMultipleField(validate_choice=False)
    range = SelectField(choices=_choices(imports.DATE_RANGES), default="this_month",
                        invalid_choice_message=_l("Choose this month, last month or a custom range."))
    start = StringField()
    end = StringField()
    billable = BooleanField(false_values=())  # a box: sent means ticked, whatever its value
    hide_imported = BooleanField(false_values=())
    submitted = StringField()
    link_client = StringField()

    def __init__(self, formdata, *, linked_client: str | None, today: date):
        super().__init__(formdata=formdata)
        if "client" not in formdata:
            self.client.data = linked_client or ""
        if not self.submitted.data:  # a first visit has both boxes ticked; a sent form only those ticked
            self.billable.data = self.hide_imported.data = True
        self.today = today
        first, last = imports.month_range(today, 0)
        self.start.data = self.start.data if "start" in formdata else first.isoformat()
        self.end.data = self.end.data if "end" in formdata else last.isoformat()
        self.dates: tuple[date, date] | None = None

    def validate_end(self, field) -> None:
        try:
            self.dates = imports.date_range(self.range.data, self.start.data, self.end.data, self.today)
        except ValueError as error:
            raise ValidationError(str(error)) from None

    def chosen(self, workspace: Workspace, invoice_currency: str, time_zone: str) -> imports.Filters:
        """The validated filters, as the preview asks Clockify with them."""
        start, end = self.dates
        rounding = workspace.rounding
        return imports.Filters(
            workspace_id=workspace.id, currency=workspace.currency or invoice_currency, start=start, end=end,
            time_zone=time_zone, client_ids=(self.client.data,) if self.client.data else (), project_ids=self.projects,
            user_ids=self.members, billable_only=self.billable.data, hide_imported=self.hide_imported.data,
            plan=workspace.plan, preset=self.range.data, report_round_minutes=rounding.minutes if rounding else 0,
            report_round_direction=rounding.direction if rounding else "up")

    def args(self) -> dict:
        """The choices as a link's query arguments: a way back to the filters keeps them."""
        return choice_args(self.client.data or "", self.projects, self.members, self.range.data, self.start.data or "",
                           self.end.data or "", self.billable.data, self.hide_imported.data)

    @property
    def projects(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.project.data or ())))

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.member.data or ())))


def choice_args(client: str, projects, members, preset: str, start: str, end: str, billable: bool,
                hide_imported: bool) -> dict:
    """Filters as FiltersForm reads them from a query: a box is sent only when ticked."""
    return dict(submitted="1", client=client, project=list(projects), member=list(members), range=preset,
                start=start, end=end, billable="on" if billable else None,
                hide_imported="on" if hide_imported else None)


def preview_args(filters: imports.Filters) -> dict:
    """A preview's filters as FiltersForm reads them: "Change filters" and the step indicator's way back."""
    return choice_args(filters.client_ids[0] if filters.client_ids else "", filters.project_ids, filters.user_ids,
                       filters.preset, filters.start.isoformat(), filters.end.isoformat(), filters.billable_only,
                       filters.hide_imported)


class LineOptionsForm(_Form):
    """How the ticked entries become lines, which entries are ticked, and the rate for those without one."""

    grouping = SelectField(choices=_choices(GROUPING_LABELS), coerce=_text(_DEFAULTS.grouping),
                           default=_DEFAULTS.grouping, invalid_choice_message=GROUPING_MESSAGE)
    rounding_minutes = SelectField(choices=_choices({minutes: rounding_label(minutes) for minutes in ROUNDING_MINUTES}),
                                   coerce=_minutes, default=_DEFAULTS.rounding_minutes,
                                   invalid_choice_message=ROUNDING_MESSAGE)
    rounding_direction = SelectField(choices=_choices(ROUNDING_DIRECTION_LABELS),
                                     coerce=_text(_DEFAULTS.rounding_direction), default=_DEFAULTS.rounding_direction,
                                     invalid_choice_message=DIRECTION_MESSAGE)
    details = SelectMultipleField(choices=_choices({detail: detail for detail in DETAILS}), coerce=_text(""), filters=[lambda chosen: [d for d in chosen or () if d]],
                                  invalid_choice_message=_l("Unknown line detail: %(value)s."))
    max_description = StringField(default=str(_DEFAULTS.max_description))
    unit = StringField(default=_DEFAULTS.unit, filters=[lambda text: text.strip() if isinstance(text, str) else text],
                       validators=[Length(max=UNIT_LIMIT, message=_l("The unit can be at most %(most)s characters.", most=UNIT_LIMIT))])
    fallback_rate = StringField()
    selection = StringField(default="some")
    entry = SelectMultipleField(validate_choice=False)
    exclude = SelectMultipleField(validate_choice=False)
    nonbillable = SelectMultipleField(validate_choice=False)
    shown_pages = StringField()
    rate: Decimal | None = None  # the typed fallback rate, once validated

    @classmethod
    def showing(cls, options: LineOptions, rate: Decimal | None) -> LineOptionsForm:
        """The form as a preview first shows it: the customer's remembered options, the default rate."""
        return cls(formdata=None, data={**options.as_dict(), "max_description": str(options.max_description),
                                        "fallback_rate": "" if rate is None else str(rate)})

    def validate_max_description(self, field) -> None:
        value = _minutes(field.data) if field.data not in (None, "") else _DEFAULTS.max_description
        if not isinstance(value, int) or not DESCRIPTION_LIMITS[0] <= value <= DESCRIPTION_LIMITS[1]:
            raise ValidationError(LENGTH_MESSAGE)
        self.max_description.number = value

    def validate_fallback_rate(self, field) -> None:
        if not (field.data or "").strip():
            return
        try:
            typed = parse_decimal(field.data)
        except ValueError:
            typed = None
        if typed is None or typed < 0 or typed > RATE_LIMIT:
            raise ValidationError(_("Enter the rate for entries without one as a number, like 80."))
        self.rate = typed

    @property
    def first_error(self) -> str | None:
        return next((message for messages in self.errors.values() for message in messages), None)

    def options(self) -> LineOptions:
        """The validated options."""
        return LineOptions(grouping=self.grouping.data, rounding_minutes=self.rounding_minutes.data,
                           rounding_direction=self.rounding_direction.data, details=frozenset(self.details.data),
                           max_description=self.max_description.number, unit=self.unit.data or "")

    def chosen_rate(self, default: Decimal | None) -> Decimal | None:
        """The rate typed for entries without one, else ``default``."""
        return self.rate if self.rate is not None else default

    def selection_of(self) -> imports.Selection:
        pages = self.shown_pages.data or ""
        return imports.Selection(mode=self.selection.data or "some", entry_ids=tuple(self.entry.data or ()),
                                 excluded=tuple(self.exclude.data or ()),
                                 non_billable_ids=tuple(self.nonbillable.data or ()),
                                 shown_pages=int(pages) if pages.isascii() and pages.isdigit() and len(pages) < 6 else 0)
