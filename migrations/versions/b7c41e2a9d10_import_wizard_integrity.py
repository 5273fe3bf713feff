"""import wizard integrity: currency labels, page claims, unreadable entries

Revision ID: b7c41e2a9d10
Revises: 3fdee38fcc40
Create Date: 2026-12-01 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7c41e2a9d10'
down_revision = '3fdee38fcc40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clockify_currency_labels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['clockify_connections.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('connection_id', 'workspace_id', 'label', name='uq_clockify_currency_labels_label')
    )
    with op.batch_alter_table('import_previews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('loading_until', sa.DateTime(), nullable=True))
    with op.batch_alter_table('import_preview_pages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unreadable', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('import_preview_pages', schema=None) as batch_op:
        batch_op.drop_column('unreadable')
    with op.batch_alter_table('import_previews', schema=None) as batch_op:
        batch_op.drop_column('loading_until')
    op.drop_table('clockify_currency_labels')
