"""list-speed: the dashboard's and the list's covering index gains credited_minor (the shared balance and
overdue rule subtracts credit notes: without it each sum read every invoice's row), and the list's totals
per currency get an index in currency order

Revision ID: f3a9c1d7e5b2
Revises: c4e7d2a1b803
Create Date: 2026-11-30 16:40:00.000000
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f3a9c1d7e5b2'
down_revision = 'c4e7d2a1b803'
branch_labels = None
depends_on = None

BEFORE = ['business_id', 'status', 'due_date', 'currency', 'customer_id', 'total_minor', 'paid_minor']
AFTER = BEFORE + ['credited_minor']
SUMS = ['business_id', 'currency', 'status', 'total_minor', 'paid_minor', 'credited_minor']


def upgrade():
    op.drop_index('ix_invoices_business_status_due', table_name='invoices')
    op.create_index('ix_invoices_business_status_due', 'invoices', AFTER)
    op.create_index('ix_invoices_business_currency_sums', 'invoices', SUMS)


def downgrade():
    op.drop_index('ix_invoices_business_currency_sums', table_name='invoices')
    op.drop_index('ix_invoices_business_status_due', table_name='invoices')
    op.create_index('ix_invoices_business_status_due', 'invoices', BEFORE)
