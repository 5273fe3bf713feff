"""big imports: a preview knows its window's page count, and a confirm runs page by page

Revision ID: 9b1f4c2e7d55
Revises: e1c0a5b7d302
Create Date: 2026-11-30 10:05:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '9b1f4c2e7d55'
down_revision = 'e1c0a5b7d302'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('import_previews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('window_pages', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('confirm_run', sa.String(length=22), nullable=True))
        batch_op.add_column(sa.Column('confirm_request', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('confirm_pages', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('import_preview_pages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('planned', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('import_preview_pages', schema=None) as batch_op:
        batch_op.drop_column('planned')
    with op.batch_alter_table('import_previews', schema=None) as batch_op:
        batch_op.drop_column('confirm_pages')
        batch_op.drop_column('confirm_request')
        batch_op.drop_column('confirm_run')
        batch_op.drop_column('window_pages')
