"""The whole schema in one place. Money is integer minor units; quantities and percentages are exact
decimals stored as scaled integers; times are UTC and come back time-zone aware.

Who: users (a person and their personal settings), user_sessions, recovery_codes, login_attempts.
Whose: businesses own everything below; memberships give a user a role in one; invitations offer one;
connection_requests ask someone holding a Clockify key to connect it.
Every owned table carries business_id (customers, invoices, clockify_connections, import_previews,
imported_entries, connection_requests) or reaches it through its parent (line_items through the
invoice; clockify_cache, clockify_currency_labels through the connection; import_preview_pages through
the preview), and every query a request makes is scoped to the current business (blueprints/access.py).
Mail (issue 11): mail_attempts (every invoice, reminder and invitation mail tried, with the server's
answer), reminder_stages (a business's reminders, N days after the due date) and reminder_claims (one
per invoice and stage: claimed before sending, so a stage goes once).
Shared by the whole installation: clockify_rate_budget (the calls each Clockify key may still make).
A column that takes one of a few values has a CHECK built from the same tuple the code uses (ROLES,
INVOICE_STATUSES, LINE_SOURCES)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    JSON,
    LargeBinary,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import false, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from services.money import line_amount_minor


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class ScaledDecimal(TypeDecorator):
    """An exact Decimal with a fixed number of places, stored as a scaled integer.

    SQLite has no exact decimal type (Numeric there goes through float), so 7.25 is kept as 72500
    with places=4 on every database alike."""

    impl = BigInteger
    cache_ok = True

    def __init__(self, places: int):
        super().__init__()
        self.places = places

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        scaled = Decimal(value).scaleb(self.places)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {self.places} decimal places")
        return int(scaled)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(value).scaleb(-self.places)


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) too."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: times are stored time-zone aware")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


MAX_ID = 2**31 - 1  # primary keys are INTEGER: PostgreSQL refuses even to compare a larger number with one
QUANTITY_PLACES = 4
PERCENT_PLACES = 3


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(120), default="")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Two-factor authentication (services/two_factor.py). The TOTP secret is sealed with the data key
    # like a Clockify key; it is there but not yet in force until the first code confirms it
    # (totp_enabled_at). totp_last_step is the last time step a code was accepted for: a code is never
    # accepted twice, and a guarded UPDATE on it lets only one of two parallel requests through.
    totp_key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    totp_nonce: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    totp_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", cascade="all, delete-orphan",
                                                        order_by="Membership.id")

    # The login this request runs as (its UserSession's token), set by services.accounts when the
    # session is started or loaded: Flask-Login keeps it in the session and the remember-me cookie, so
    # revoking the row ends every copy of those cookies.
    session_token = None  # str: not a column

    # ui-a11y (issue 13): how numbers and dates are written for this person (a Babel locale, e.g.
    # "de_DE": "7,5" and "30.11.2026"); None follows HOURBILL_LOCALE.
    locale: Mapped[str | None] = mapped_column(String(35), nullable=True)

    def get_id(self) -> str:
        if not self.session_token:
            raise RuntimeError("This user was not loaded through a login session (services.accounts).")
        return self.session_token

    @property
    def shown_name(self) -> str:
        """How pages and messages name this person: their name, else their email."""
        return self.display_name or self.email

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_enabled_at is not None


class UserSession(db.Model):
    """One login: a browser that gave the right password (and code). Its id is the SHA-256 of a random
    token that only the browser holds (in the session and the remember-me cookie); revoking the row
    (log-out, "log out everywhere", a password change) ends that login at its next request."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_revoked", "user_id", "revoked_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_agent: Mapped[str] = mapped_column(String(120), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    # Loaded with its login, in the same query: every logged-in request reads both (the user loader).
    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class RecoveryCode(db.Model):
    """A one-time code that stands in for an authenticator code. Only its SHA-256 is stored (the codes
    are random, so a fast hash is enough); using it sets used_at with a guarded UPDATE."""

    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash", name="uq_recovery_codes_user_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LoginAttempt(db.Model):
    """One slot of a log-in budget: a key (an account from an address, an address, an account
    anywhere) has `limit` numbered slots. An attempt claims a free or aged-out slot with a guarded
    INSERT or UPDATE before any password is checked, so parallel guesses cannot overrun the limit
    (services/login_throttle.py). A successful log-in gives its slots back."""

    __tablename__ = "login_attempts"
    __table_args__ = (UniqueConstraint("key", "slot", name="uq_login_attempts_key_slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300))
    slot: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    """A CHECK that ``column`` holds one of ``values``: the tuple the code uses is the one list."""
    return CheckConstraint(f"{column} IN ({', '.join(repr(value) for value in values)})", name=name)


ROLES = ("owner", "admin", "member", "viewer")  # most to least: blueprints/access.py ranks them so


# How an invoice number looks after the business's prefix (services.invoicing.format_number):
# str.format fields year and seq. The ones with the year may restart the sequence each year.
NUMBER_FORMATS = ("{seq:04}", "{year}-{seq:04}", "{year}-{seq:03}", "{year}{seq:04}")


VAT_CATEGORIES = ("S", "Z", "E", "AE", "K", "G", "O")  # EN 16931's codes (services/einvoice/model.VatCategory)
EINVOICE_FORMATS = ("none", "facturx", "xrechnung-cii", "xrechnung-ubl", "peppol")  # services/einvoice/rules.Format
INVOICE_LANGUAGES = ("en", "de", "fr")


class PartyDetails:
    """What an e-invoice needs to say about a party (einvoice-wiring), the same columns on the business
    (the seller) and on its customers (the buyers): a structured postal address, tax identifiers, a
    contact, and the Peppol electronic address. The free-text `address` stays beside it for addresses
    from before (to be completed)."""

    address_line1: Mapped[str] = mapped_column(String(200), default="", server_default="")
    address_line2: Mapped[str] = mapped_column(String(200), default="", server_default="")
    postcode: Mapped[str] = mapped_column(String(20), default="", server_default="")
    city: Mapped[str] = mapped_column(String(100), default="", server_default="")
    country: Mapped[str] = mapped_column(String(2), default="", server_default="")  # ISO 3166-1 alpha-2
    vat_id: Mapped[str] = mapped_column(String(20), default="", server_default="")  # with its country prefix
    tax_number: Mapped[str] = mapped_column(String(40), default="", server_default="")  # e.g. a Steuernummer
    registration_id: Mapped[str] = mapped_column(String(64), default="", server_default="")  # company register
    contact_name: Mapped[str] = mapped_column(String(120), default="", server_default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    endpoint_scheme: Mapped[str] = mapped_column(String(4), default="", server_default="")  # Peppol EAS code
    endpoint_id: Mapped[str] = mapped_column(String(100), default="", server_default="")


class Business(PartyDetails, db.Model):
    """What owns everything else, and what its invoices say about the sender (the seller's profile).
    People reach it through a Membership; numbering is per business."""

    __tablename__ = "businesses"
    __table_args__ = (one_of("invoice_number_format", NUMBER_FORMATS, "ck_businesses_invoice_number_format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    tax_id: Mapped[str] = mapped_column(String(64), default="")
    default_currency: Mapped[str] = mapped_column(String(3), default="USD")
    default_hourly_rate_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    default_tax_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(PERCENT_PLACES), default=Decimal(0))
    invoice_prefix: Mapped[str] = mapped_column(String(20), default="INV-")
    next_invoice_number: Mapped[int] = mapped_column(Integer, default=1)
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    # An owner may require every member to log in with a second factor.
    require_two_factor: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Numbering (payments): how a number looks (NUMBER_FORMATS: the prefix, then the year and the
    # sequence as the format says) and whether the sequence starts again at 1 each year.
    # invoice_number_year is the year next_invoice_number counts in (NULL until the first number is
    # given with a yearly restart); services.invoicing.next_number reads all three.
    invoice_number_format: Mapped[str] = mapped_column(String(20), default="{seq:04}", server_default="{seq:04}")
    number_restarts_yearly: Mapped[bool] = mapped_column(default=False, server_default=false())
    invoice_number_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # better-pdf: what the invoice says about paying it, and the logo at its head. The e-invoice reads
    # the same three payment columns. The IBAN is kept compact and upper case, checked with schwifty
    # (services/payment_details.py); the logo is a PNG or JPEG re-encoded by services/logo.py.
    bank_account_holder: Mapped[str] = mapped_column(String(70), default="", server_default="")
    iban: Mapped[str] = mapped_column(String(34), default="", server_default="")
    bic: Mapped[str] = mapped_column(String(11), default="", server_default="")
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    logo_type: Mapped[str] = mapped_column(String(10), default="", server_default="")  # image/png, image/jpeg

    memberships: Mapped[list[Membership]] = relationship(back_populates="business", cascade="all, delete-orphan",
                                                         order_by="Membership.id")

    # Email (issue 11, branch email): the invoice mail's subject and body with {placeholders}
    # (services/mail.py; empty means Hourbill's own wording), and whether `flask send-reminders` sends
    # this business's reminder stages (off until the owner turns it on).
    invoice_mail_subject: Mapped[str] = mapped_column(String(200), default="", server_default="")
    invoice_mail_body: Mapped[str] = mapped_column(Text, default="", server_default="")
    reminders_enabled: Mapped[bool] = mapped_column(default=False, server_default=false())

    # Credit notes (issue 12, branch credit-notes): their own numbering (prefix, NUMBER_FORMATS, next
    # number and the year it counts in; the yearly restart is number_restarts_yearly, shared with
    # invoices), and whether a sent invoice may still be voided (off where the law wants a credit note).
    credit_note_prefix: Mapped[str] = mapped_column(String(20), default="CN-", server_default="CN-")
    credit_note_number_format: Mapped[str] = mapped_column(String(20), default="{year}-{seq:04}",
                                                           server_default="{year}-{seq:04}")
    next_credit_note_number: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    credit_note_number_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    void_forbidden_once_sent: Mapped[bool] = mapped_column(default=False, server_default=false())

    # Credit-note mail (branch loose-ends7): the credit note's own subject and body with {placeholders},
    # beside the invoice pair; empty means Hourbill's own wording, in the customer's language.
    credit_note_mail_subject: Mapped[str] = mapped_column(String(200), default="", server_default="")
    credit_note_mail_body: Mapped[str] = mapped_column(Text, default="", server_default="")


class Membership(db.Model):
    """A user's role in a business (ROLES). Read on every request, so removing it or lowering the role
    takes effect at the member's next request."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "business_id", name="uq_memberships_user_business"),
        one_of("role", ROLES, "ck_memberships_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    business: Mapped[Business] = relationship(back_populates="memberships")


class Invitation(db.Model):
    """A single-use, expiring offer of a role in a business, sent to an email address. Only the SHA-256
    of its random token is stored; accepting or revoking it sets a time with a guarded UPDATE."""

    __tablename__ = "invitations"
    __table_args__ = (one_of("role", ROLES, "ck_invitations_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                           nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    business: Mapped[Business] = relationship()
    invited_by: Mapped[User | None] = relationship()


class ConnectionRequest(db.Model):
    """"Ask a colleague to connect": a one-time, expiring link a member sends to whoever holds a Clockify
    key (who needs no account here). Only the SHA-256 of its random token is stored; using or revoking
    it sets a time with a guarded UPDATE. The connection it makes belongs to the requester, shared or
    private as they chose (services/connection_requests.py)."""

    __tablename__ = "connection_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"), index=True)
    requested_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    shared: Mapped[bool] = mapped_column(default=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("clockify_connections.id", ondelete="SET NULL"),
                                                      nullable=True)

    business: Mapped[Business] = relationship()
    requested_by: Mapped[User] = relationship()


class Customer(PartyDetails, db.Model):
    __tablename__ = "customers"
    __table_args__ = (one_of("einvoice_format", EINVOICE_FORMATS, "ck_customers_einvoice_format"),
                      one_of("invoice_language", INVOICE_LANGUAGES, "ck_customers_invoice_language"))

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3))
    clockify_client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # How the import wizard last turned entries into lines for this customer (services.lines.LineOptions).
    import_options: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # E-invoicing (einvoice-wiring), besides PartyDetails: the buyer reference (a German public buyer's
    # Leitweg-ID), the format its invoices are checked for before sending, and the language of its
    # documents (the field only: documents in that language come later).
    buyer_reference: Mapped[str] = mapped_column(String(200), default="", server_default="")
    einvoice_format: Mapped[str] = mapped_column(String(20), default="none", server_default="none")
    invoice_language: Mapped[str] = mapped_column(String(2), default="en", server_default="en")

    business: Mapped[Business] = relationship()
    invoices: Mapped[list[Invoice]] = relationship(back_populates="customer")


# partially_paid: some payments, a balance left (services/payments.py); "overdue" is no status but a
# sent or partially paid invoice past its due date with a balance (payments.shown_status).
# credit-notes: "issued" is a credit note's only status (numbered, final, never owed); "credited" an
# invoice whose credit notes add up to its total (settled: nothing owed, its Clockify entries released).
INVOICE_STATUSES = ("draft", "sent", "partially_paid", "paid", "void", "issued", "credited")
INVOICE_KINDS = ("invoice", "credit_note")


class Invoice(db.Model):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("business_id", "number", name="uq_invoices_business_number"),
        one_of("status", INVOICE_STATUSES, "ck_invoices_status"),
        one_of("vat_category", VAT_CATEGORIES, "ck_invoices_vat_category"),
        one_of("kind", INVOICE_KINDS, "ck_invoices_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"), index=True)
    number: Mapped[str | None] = mapped_column(String(40), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    notes: Mapped[str] = mapped_column(Text, default="")
    tax_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(PERCENT_PLACES), default=Decimal(0))
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Who it was from and to, as they were when it was sent: later edits of the profile or the customer
    # must not change an invoice that has left (services.invoicing.mark_sent fills it).
    parties: Mapped[dict | None] = mapped_column(JSON, nullable=True)

    # Payments (services/payments.py). total_minor is set from invoicing.totals() when the invoice is
    # numbered (mark_sent) and never changes after; paid_minor is the sum of its payments, changed only
    # by a guarded UPDATE that also checks the balance, so two payments at once never pay past it.
    total_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    customer: Mapped[Customer] = relationship(back_populates="invoices")
    lines: Mapped[list[LineItem]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="LineItem.position"
    )
    payments: Mapped[list[Payment]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", passive_deletes=True,
        order_by="(Payment.paid_on, Payment.id)"
    )

    # Email (issue 11, branch email): the customer's view link. The token (secrets.token_urlsafe(32): 256
    # bits) is kept as it is, since the owner copies the link again; None when the link is disabled.
    # viewed_at is the first view, set once by a guarded UPDATE.
    view_token: Mapped[str | None] = mapped_column(String(64), unique=True, index=True, nullable=True)
    viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    # VAT treatment (einvoice-wiring): the default of every line that has none of its own (tax_rate above
    # is the default rate, used by category S only), and the reason an exempt or zero-rated default
    # gives (e.g. paragraph 19 UStG).
    vat_category: Mapped[str] = mapped_column(String(2), default="S", server_default="S")
    vat_exemption_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    # Credit notes (issue 12, branch credit-notes, services/credit_notes.py): a credit note is an invoice
    # row of kind "credit_note" naming the invoice it corrects; on an invoice, credited_minor is the sum
    # of its credit notes' totals, raised only by a guarded UPDATE that keeps it within total_minor.
    kind: Mapped[str] = mapped_column(String(12), default="invoice", server_default="invoice")
    corrects_invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoices.id", ondelete="RESTRICT", name="fk_invoices_corrects_invoice_id"), nullable=True,
        index=True)
    credited_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    corrects: Mapped[Invoice | None] = relationship(remote_side="Invoice.id", back_populates="credit_notes")
    credit_notes: Mapped[list[Invoice]] = relationship(back_populates="corrects", order_by="Invoice.id")

    @property
    def is_credit_note(self) -> bool:
        return self.kind == "credit_note"

    @property
    def is_draft(self) -> bool:
        return self.status == "draft"


LINE_SOURCES = ("manual", "clockify")  # typed on the invoice, or imported by the wizard


class LineItem(db.Model):
    __tablename__ = "line_items"
    __table_args__ = (Index("ix_line_items_invoice_position", "invoice_id", "position"),
                      one_of("source", LINE_SOURCES, "ck_line_items_source"),
                      one_of("vat_category", VAT_CATEGORIES, "ck_line_items_vat_category"))

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    quantity: Mapped[Decimal] = mapped_column(ScaledDecimal(QUANTITY_PLACES))
    unit: Mapped[str] = mapped_column(String(20), default="")
    rate_minor: Mapped[int] = mapped_column(BigInteger)
    # Derived from quantity and rate (set_amounts keeps it so); stored so lists can sum in SQL.
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(20), default="manual")

    # VAT treatment of its own (einvoice-wiring); NULL follows the invoice's default (imported lines do).
    vat_category: Mapped[str | None] = mapped_column(String(2), nullable=True)
    vat_rate: Mapped[Decimal | None] = mapped_column(ScaledDecimal(PERCENT_PLACES), nullable=True)
    vat_exemption_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")
    imported_entries: Mapped[list[ImportedEntry]] = relationship(back_populates="line_item",
                                                                 cascade="all, delete-orphan")

    # Credit notes per line (cn-finish, services/credit_notes.py): on an invoice's line, the sum of what its
    # credit notes credited of it, raised only by a guarded UPDATE that keeps it within amount_minor.
    credited_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    def set_amounts(self, quantity: Decimal, rate_minor: int) -> None:
        self.quantity = quantity
        self.rate_minor = rate_minor
        self.amount_minor = line_amount_minor(quantity, rate_minor)


class ClockifyConnection(db.Model):
    """A Clockify API key, encrypted at rest, and the Clockify account it reads as. It belongs to a
    business and was pasted by one of its people (created_by_user_id): private to them unless shared.

    The key itself is only ever here as AES-GCM ciphertext (services/secrets.py) bound to this row;
    ``key_last4`` is all of it a page may show. ``status`` turns to "invalid" when Clockify answers 401."""

    __tablename__ = "clockify_connections"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'invalid')", name="ck_clockify_connections_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"), index=True)
    # Who pasted the key. The key's associated data names this id (services/connections.py), so it
    # never changes while the ciphertext lives.
    created_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Private (only its creator imports through it) unless shared with every member of the business.
    shared: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    region: Mapped[str] = mapped_column(String(10), default="global")
    subdomain: Mapped[str | None] = mapped_column(String(63), nullable=True)
    # Set in the same transaction as the row: the associated data names the row's id.
    key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    key_nonce: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    key_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    key_last4: Mapped[str] = mapped_column(String(4), default="")
    clockify_user_id: Mapped[str] = mapped_column(String(64), default="")
    clockify_user_name: Mapped[str] = mapped_column(String(200), default="")
    clockify_user_email: Mapped[str] = mapped_column(String(254), default="")
    clockify_time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="active")
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return (f"<ClockifyConnection id={self.id} business_id={self.business_id} "
                f"created_by_user_id={self.created_by_user_id} status={self.status}>")


class ClockifyCache(db.Model):
    """What a connection fetched from Clockify and may reuse for a while (workspaces, and each
    workspace's clients, projects and members). Goes with its connection on disconnect."""

    __tablename__ = "clockify_cache"
    __table_args__ = (UniqueConstraint("connection_id", "key", name="uq_clockify_cache_connection_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("clockify_connections.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(120))
    payload: Mapped[list | dict] = mapped_column(JSON)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImportPreview(db.Model):
    """The entries the wizard fetched for one preview, kept server-side so that confirming bills exactly
    what was shown (never amounts from the browser) without asking Clockify again."""

    __tablename__ = "import_previews"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(43), unique=True)  # unguessable: it goes in URLs
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"), index=True)
    # Who asked for it: a preview is one person's work in progress (kept per person, services.imports).
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("clockify_connections.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(String(64))
    filters: Mapped[dict] = mapped_column(JSON)  # what was asked: services.imports.Filters.as_dict
    # The pager: the report windows the range was cut into ([start, end] ISO dates), the next page to
    # load (window index and report page; NULL once every page is loaded), and whether the entries were
    # read member by member because the report was refused.
    windows: Mapped[list] = mapped_column(JSON, default=list)
    cursor_window: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cursor_page: Mapped[int | None] = mapped_column(Integer, nullable=True)
    per_member: Mapped[bool] = mapped_column(default=False, server_default=false())
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    pages_loaded: Mapped[int] = mapped_column(Integer, default=0)
    complete: Mapped[bool] = mapped_column(default=False)
    # Set while one request fetches the next report page (a guarded claim): a second "load more" of the
    # same preview at that moment answers without fetching. A claim left by a dead request expires.
    loading_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # big-imports: how many report pages the current window has, from the first page's totals (NULL: not
    # known), so the rest are fetched at once; and a confirm that runs page by page
    # (services.imports.confirm_step): the run under way (NULL: none), what it confirms (selection, line
    # options, rate) and how many stored pages it has planned. Its lines land in its last step only.
    window_pages: Mapped[int | None] = mapped_column(Integer, nullable=True)
    confirm_run: Mapped[str | None] = mapped_column(String(22), nullable=True)
    confirm_request: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    confirm_pages: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ImportPreviewPage(db.Model):
    """One report page of a preview's entries: loading the next page adds a row, it never rewrites
    the pages before it (a 10,000-entry month is ten rows, not one growing document)."""

    __tablename__ = "import_preview_pages"
    __table_args__ = (UniqueConstraint("preview_id", "number", name="uq_import_preview_pages_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    preview_id: Mapped[int] = mapped_column(ForeignKey("import_previews.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    # Last in the table (import-fast10): SQLite stores a row's columns in order, and this one is ~0.7 MB, so
    # reading a column after it (the digest, what is planned) walked its ~175 overflow pages first.
    entries: Mapped[list] = mapped_column(JSON, sort_order=1)
    # Entries of this page Hourbill could not read, as [{"id", "reason"}]: listed apart, never billed.
    unreadable: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # big-imports: this page's part of the lines of the confirm or "Show the lines" under way, tagged with
    # what it was planned for ({"for", "lines": LinePlanner.state, "sums": Reconciler.state}; lines-plan).
    planned: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # import-fast: the page's entries folded as it is stored, what the lines of any options and selection are
    # planned from without decoding the entries again ({"zone", "cells"}: services.imports.page_digest).
    digest: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class ClockifyCurrencyLabel(db.Model):
    """What a workspace's free-text currency label ("EURO", "$") means, as the user said once: Clockify's
    label is not an ISO code and Hourbill never guesses an ambiguous one."""

    __tablename__ = "clockify_currency_labels"
    __table_args__ = (UniqueConstraint("connection_id", "workspace_id", "label",
                                       name="uq_clockify_currency_labels_label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("clockify_connections.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))


class ImportedEntry(db.Model):
    """A Clockify entry billed on a line. One per business and entry: the same hour is never on two
    invoices of a business.

    Deleting the line or the draft deletes the row (the entry is free again); voiding the invoice
    deletes its rows too."""

    __tablename__ = "imported_entries"
    __table_args__ = (
        UniqueConstraint("business_id", "workspace_id", "entry_id", name="uq_imported_entries_business_entry"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    line_item_id: Mapped[int] = mapped_column(ForeignKey("line_items.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[str] = mapped_column(String(64))
    entry_id: Mapped[str] = mapped_column(String(64))
    seconds: Mapped[int] = mapped_column(BigInteger)
    rate_minor: Mapped[int] = mapped_column(BigInteger)

    line_item: Mapped[LineItem] = relationship(back_populates="imported_entries")


class ClockifyRateBudget(db.Model):
    """When each Clockify key last sent (services/rate_budget.py): the last ten booked send times, so every
    process and host using the key keeps to Clockify's 10 requests a second. One row per key, named by
    a hash of the key (never the key); taken under a row lock in a transaction of its own."""

    __tablename__ = "clockify_rate_budget"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    slots: Mapped[str] = mapped_column(Text, default="")  # epoch seconds, space-separated, oldest first


class Payment(db.Model):
    """Money received against a sent invoice (services/payments.py). Recording or deleting one changes
    the invoice's paid_minor and status in the same transaction, under a guarded UPDATE of the invoice."""

    __tablename__ = "payments"
    __table_args__ = (CheckConstraint("amount_minor > 0", name="ck_payments_amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    paid_on: Mapped[date] = mapped_column(Date)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(40), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                            nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    invoice: Mapped[Invoice] = relationship(back_populates="payments")
    recorded_by: Mapped[User | None] = relationship()

    # The invoice's currency, copied when the payment is recorded (a sent invoice's currency never changes):
    # the dashboard sums payments per currency and month from one index, with no invoice looked up per payment.
    currency: Mapped[str] = mapped_column(String(3), server_default="")
# --- Mail (issue 11, branch email) -------------------------------------------------------------------

MAIL_KINDS = ("invoice", "reminder", "invitation")
MAIL_OUTCOMES = ("sent", "failed")


class MailAttempt(db.Model):
    """One mail Hourbill tried to send, and what the server answered: the invoice page's send log.
    Written after every try, whether the server took the mail or not (invoice_id is None for an invitation)."""

    __tablename__ = "mail_attempts"
    __table_args__ = (one_of("kind", MAIL_KINDS, "ck_mail_attempts_kind"),
                      one_of("outcome", MAIL_OUTCOMES, "ck_mail_attempts_outcome"))

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), nullable=True,
                                                   index=True)
    kind: Mapped[str] = mapped_column(String(12))
    stage_days: Mapped[int | None] = mapped_column(Integer, nullable=True)  # a reminder's stage
    to_addresses: Mapped[str] = mapped_column(Text, default="")  # comma-separated
    cc_addresses: Mapped[str] = mapped_column(Text, default="")
    # Who sent it; None for `flask send-reminders`.
    sent_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    outcome: Mapped[str] = mapped_column(String(10))
    answer: Mapped[str] = mapped_column(Text, default="")  # the server's answer, or why it could not be reached
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sent_by: Mapped[User | None] = relationship()


class ReminderStage(db.Model):
    """A business's reminder N days after an invoice's due date, with its own subject and body."""

    __tablename__ = "reminder_stages"
    __table_args__ = (UniqueConstraint("business_id", "days", name="uq_reminder_stages_business_days"),
                      CheckConstraint("days > 0", name="ck_reminder_stages_days"))

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"), index=True)
    days: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")


REMINDER_CLAIM_STATES = ("sending", "sent", "failed")


class ReminderClaim(db.Model):
    """An invoice's reminder stage (by its number of days), claimed before the mail goes: the unique
    constraint lets one of two hosts running `send-reminders` at once have it. A failed send is claimed
    again (a guarded UPDATE from "failed") on the next run; a sent one never."""

    __tablename__ = "reminder_claims"
    __table_args__ = (UniqueConstraint("invoice_id", "stage_days", name="uq_reminder_claims_invoice_stage"),
                      one_of("state", REMINDER_CLAIM_STATES, "ck_reminder_claims_state"))

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    stage_days: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UnbilledTime(db.Model):
    """The dashboard's "unbilled Clockify time" as a connection last fetched it (services/unbilled.py):
    per workspace and linked client, the billable entries since a date (id, seconds, amount), so the
    page subtracts what was billed since without asking Clockify again. Fetched only on "Refresh";
    ``refreshing_until`` is that refresh's claim (a guarded UPDATE), so two refreshes at once ask
    Clockify once. Goes with its connection."""

    __tablename__ = "unbilled_time"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("clockify_connections.id", ondelete="CASCADE"),
                                               unique=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"), index=True)
    since: Mapped[date | None] = mapped_column(Date, nullable=True)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    refreshing_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict | None] = mapped_column(JSON, nullable=True)


# Dashboard and invoice list (dashboard): the lists filter a business's invoices by status and dates
# and page through them by (date, id).
# speed: the same index covers the columns the sums read, so they never read the invoice rows.
# list-speed: credited_minor too (the shared balance and overdue rule subtracts credits: without it every
# sum read each invoice's row); the sums per currency (the list's totals under any filter or search, the
# dashboard's outstanding, overdue and who owes most) read one narrow index in currency order, never the
# rows; the pages in issue order test the search's number and customer on the index, and a customer's
# invoices are a range of their own.
Index("ix_invoices_business_status_due", Invoice.business_id, Invoice.status, Invoice.due_date, Invoice.currency,
      Invoice.customer_id, Invoice.total_minor, Invoice.paid_minor, Invoice.credited_minor)
Index("ix_invoices_business_currency_sums", Invoice.business_id, Invoice.currency, Invoice.status, Invoice.due_date,
      Invoice.total_minor, Invoice.paid_minor, Invoice.credited_minor, Invoice.customer_id, Invoice.number)
Index("ix_invoices_business_issue", Invoice.business_id, Invoice.issue_date, Invoice.id, Invoice.customer_id,
      Invoice.number)
Index("ix_invoices_business_customer_issue", Invoice.business_id, Invoice.customer_id, Invoice.issue_date, Invoice.id)
Index("ix_payments_business_paid_on", Payment.business_id, Payment.paid_on, Payment.currency, Payment.amount_minor)
# list-sort: the invoice list by customer walks a business's customers in this order (its sort: lower(name),
# then id) and reads each one's invoices by ix_invoices_customer_id, stopping after a page.
Index("ix_customers_business_name", Customer.business_id, func.lower(Customer.name), Customer.id)
