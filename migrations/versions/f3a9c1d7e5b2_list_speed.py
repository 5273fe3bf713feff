"""list-speed: the indexes the dashboard and the invoice list read by. The covering status/due index gains
credited_minor (the shared balance and overdue rule subtracts credit notes); the sums per currency (the
list's totals under any filter or search, the dashboard's outstanding, overdue and who owes most) get one
narrow index in currency order; the issue-date index carries the customer and number a search tests; a
customer's invoices get an index in issue order.

Revision ID: f3a9c1d7e5b2
Revises: f3a9c1d2e4b5
Create Date: 2026-11-30 16:40:00.000000
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f3a9c1d7e5b2'
down_revision = 'f3a9c1d2e4b5'
branch_labels = None
depends_on = None

STATUS_DUE = ['business_id', 'status', 'due_date', 'currency', 'customer_id', 'total_minor', 'paid_minor']
ISSUE = ['business_id', 'issue_date', 'id']
CHANGED = {'ix_invoices_business_status_due': (STATUS_DUE, STATUS_DUE + ['credited_minor']),
           'ix_invoices_business_issue': (ISSUE, ISSUE + ['customer_id', 'number'])}
NEW = {'ix_invoices_business_currency_sums': ['business_id', 'currency', 'status', 'due_date', 'total_minor',
                                              'paid_minor', 'credited_minor', 'customer_id', 'number'],
       'ix_invoices_business_customer_issue': ['business_id', 'customer_id', 'issue_date', 'id']}


def upgrade():
    for name, (_, after) in CHANGED.items():
        op.drop_index(name, table_name='invoices')
        op.create_index(name, 'invoices', after)
    for name, columns in NEW.items():
        op.create_index(name, 'invoices', columns)


def downgrade():
    for name in NEW:
        op.drop_index(name, table_name='invoices')
    for name, (before, _) in CHANGED.items():
        op.drop_index(name, table_name='invoices')
        op.create_index(name, 'invoices', before)
