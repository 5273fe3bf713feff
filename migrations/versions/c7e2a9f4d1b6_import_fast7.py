"""import fast: each stored preview page keeps its entries folded for planning lines

Revision ID: c7e2a9f4d1b6
Revises: c7e1d3a5f902
Create Date: 2026-11-30 22:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'c7e2a9f4d1b6'
down_revision = 'c7e1d3a5f902'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('import_preview_pages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('import_preview_pages', schema=None) as batch_op:
        batch_op.drop_column('digest')
