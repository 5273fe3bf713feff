"""ui-a11y: a person's locale (how numbers and dates are written for them)

Revision ID: a13e5c7d9b21
Revises: e5a11c0ffee1
Create Date: 2026-11-30 10:45:00
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a13e5c7d9b21'
down_revision = 'e5a11c0ffee1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=35), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locale')
