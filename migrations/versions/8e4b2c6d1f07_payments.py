"""payments: the payments table, invoice totals and paid sums, the partially_paid status, numbering
formats with the year and a yearly restart

Revision ID: 8e4b2c6d1f07
Revises: 5c2d8e7f1a93
Create Date: 2026-11-30 10:10:00.000000

Every invoice that has left draft gets its total as it was computed when it was sent (the rule of
services.money.invoice_totals, written out here so a later change of that rule cannot rewrite history),
and each paid one a payment of its whole total on the day it was marked paid.
"""
from decimal import ROUND_HALF_UP, Decimal

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '8e4b2c6d1f07'
down_revision = '5c2d8e7f1a93'
branch_labels = None
depends_on = None

BEFORE = "status IN ('draft', 'sent', 'paid', 'void')"
AFTER = "status IN ('draft', 'sent', 'partially_paid', 'paid', 'void')"
FORMATS = "invoice_number_format IN ('{seq:04}', '{year}-{seq:04}', '{year}-{seq:03}', '{year}{seq:04}')"
BACKFILLED = "recorded before payments existed"

invoices = sa.table('invoices', sa.column('id', sa.Integer), sa.column('business_id', sa.Integer),
                    sa.column('status', sa.String), sa.column('tax_rate', sa.BigInteger),
                    sa.column('discount_minor', sa.BigInteger), sa.column('issue_date', sa.Date),
                    sa.column('sent_at', sa.DateTime), sa.column('paid_at', sa.DateTime),
                    sa.column('total_minor', sa.BigInteger), sa.column('paid_minor', sa.BigInteger))
line_items = sa.table('line_items', sa.column('invoice_id', sa.Integer), sa.column('amount_minor', sa.BigInteger))
payments = sa.table('payments', sa.column('business_id', sa.Integer), sa.column('invoice_id', sa.Integer),
                    sa.column('paid_on', sa.Date), sa.column('amount_minor', sa.BigInteger),
                    sa.column('method', sa.String), sa.column('note', sa.Text),
                    sa.column('created_at', sa.DateTime))


def _total(subtotal: int, tax_rate_scaled: int, discount_minor: int) -> int:
    """The invoice total as services.money.invoice_totals computed it at this revision (tax_rate is a
    percentage stored x1000)."""
    discount = min(max(discount_minor, 0), max(subtotal, 0))
    taxable = subtotal - discount
    tax = int((Decimal(taxable) * Decimal(tax_rate_scaled or 0).scaleb(-3) / 100)
              .quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return taxable + tax


def upgrade():
    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('business_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('method', sa.String(length=40), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('amount_minor > 0', name='ck_payments_amount_positive'),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_business_id'), ['business_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_invoice_id'), ['invoice_id'], unique=False)

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('total_minor', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('paid_minor', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.drop_constraint('ck_invoices_status', type_='check')
        batch_op.alter_column('status', existing_type=sa.String(length=10), type_=sa.String(length=20),
                              existing_nullable=False)
        batch_op.create_check_constraint('ck_invoices_status', AFTER)

    with op.batch_alter_table('businesses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invoice_number_format', sa.String(length=20), server_default='{seq:04}',
                                      nullable=False))
        batch_op.add_column(sa.Column('number_restarts_yearly', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('invoice_number_year', sa.Integer(), nullable=True))
        batch_op.create_check_constraint('ck_businesses_invoice_number_format', FORMATS)

    bind = op.get_bind()
    subtotals = dict(bind.execute(sa.select(line_items.c.invoice_id, sa.func.sum(line_items.c.amount_minor))
                                  .group_by(line_items.c.invoice_id)).all())
    numbered = bind.execute(sa.select(invoices).where(invoices.c.status != 'draft')).all()
    for row in numbered:
        total = _total(int(subtotals.get(row.id) or 0), row.tax_rate, row.discount_minor)
        paid = total if row.status == 'paid' and total > 0 else 0
        bind.execute(invoices.update().where(invoices.c.id == row.id).values(total_minor=total, paid_minor=paid))
        if paid:
            when = row.paid_at or row.sent_at
            bind.execute(payments.insert().values(
                business_id=row.business_id, invoice_id=row.id, paid_on=when.date() if when else row.issue_date,
                amount_minor=paid, method=BACKFILLED, note="", created_at=when or sa.func.now()))


def downgrade():
    bind = op.get_bind()
    bind.execute(invoices.update().where(invoices.c.status == 'partially_paid').values(status='sent'))
    with op.batch_alter_table('businesses', schema=None) as batch_op:
        batch_op.drop_constraint('ck_businesses_invoice_number_format', type_='check')
        batch_op.drop_column('invoice_number_year')
        batch_op.drop_column('number_restarts_yearly')
        batch_op.drop_column('invoice_number_format')

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_constraint('ck_invoices_status', type_='check')
        batch_op.alter_column('status', existing_type=sa.String(length=20), type_=sa.String(length=10),
                              existing_nullable=False)
        batch_op.create_check_constraint('ck_invoices_status', BEFORE)
        batch_op.drop_column('paid_minor')
        batch_op.drop_column('total_minor')

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_payments_business_id'))

    op.drop_table('payments')
