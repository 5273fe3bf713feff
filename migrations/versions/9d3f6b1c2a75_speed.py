"""speed: the index the dashboard's and the list's sums read by covers every column they read (currency,
customer, total, paid), so open and paid totals are summed from the index without reading invoice rows

Revision ID: 9d3f6b1c2a75
Revises: 9b1f4c2e7d55
Create Date: 2026-11-30 12:00:00.000000
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '9d3f6b1c2a75'
down_revision = '9b1f4c2e7d55'
branch_labels = None
depends_on = None

NARROW = ['business_id', 'status', 'due_date']
COVERING = NARROW + ['currency', 'customer_id', 'total_minor', 'paid_minor']


def upgrade():
    op.drop_index('ix_invoices_business_status_due', table_name='invoices')
    op.create_index('ix_invoices_business_status_due', 'invoices', COVERING)


def downgrade():
    op.drop_index('ix_invoices_business_status_due', table_name='invoices')
    op.create_index('ix_invoices_business_status_due', 'invoices', NARROW)
