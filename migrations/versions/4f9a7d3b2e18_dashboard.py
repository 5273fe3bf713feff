"""dashboard: unbilled Clockify time per connection, and the indexes the dashboard and the invoice list
read by (status and due date, issue date and id, payments by date)

Revision ID: 4f9a7d3b2e18
Revises: e4b1d7c9a2f0
Create Date: 2026-11-30 10:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '4f9a7d3b2e18'
down_revision = 'e4b1d7c9a2f0'  # after payments: the payments table this indexes
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'unbilled_time',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('business_id', sa.Integer(), nullable=False),
        sa.Column('since', sa.Date(), nullable=True),
        sa.Column('fetched_at', sa.DateTime(), nullable=True),
        sa.Column('refreshing_until', sa.DateTime(), nullable=True),
        sa.Column('calls', sa.Integer(), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['connection_id'], ['clockify_connections.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('connection_id'),
    )
    op.create_index('ix_unbilled_time_business_id', 'unbilled_time', ['business_id'])
    op.create_index('ix_invoices_business_status_due', 'invoices', ['business_id', 'status', 'due_date'])
    op.create_index('ix_invoices_business_issue', 'invoices', ['business_id', 'issue_date', 'id'])
    op.create_index('ix_payments_business_paid_on', 'payments', ['business_id', 'paid_on', 'invoice_id', 'amount_minor'])


def downgrade():
    op.drop_index('ix_payments_business_paid_on', table_name='payments')
    op.drop_index('ix_invoices_business_issue', table_name='invoices')
    op.drop_index('ix_invoices_business_status_due', table_name='invoices')
    op.drop_index('ix_unbilled_time_business_id', table_name='unbilled_time')
    op.drop_table('unbilled_time')
