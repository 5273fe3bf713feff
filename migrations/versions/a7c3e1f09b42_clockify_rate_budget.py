"""clockify rate budget shared by every process

Revision ID: a7c3e1f09b42
Revises: 3fdee38fcc40
Create Date: 2026-11-23 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'a7c3e1f09b42'
down_revision = '3e381ddfa7e5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clockify_rate_budget',
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('slots', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key_hash')
    )


def downgrade():
    op.drop_table('clockify_rate_budget')
