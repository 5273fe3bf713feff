"""list-sort: the invoice list by customer walks the business's customers in name order (lower(name), then
id) and stops after a page, instead of sorting every invoice of the business by its customer's name.

Revision ID: b2d8f4a6c1e3
Revises: a6c2e9d4b871
Create Date: 2026-11-30 19:40:00.000000
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b2d8f4a6c1e3'
down_revision = 'a6c2e9d4b871'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_customers_business_name', 'customers', ['business_id', sa.text('lower(name)'), 'id'])


def downgrade():
    op.drop_index('ix_customers_business_name', table_name='customers')
