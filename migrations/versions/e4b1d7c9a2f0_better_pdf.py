"""better-pdf: the business's payment details (account holder, IBAN, BIC) and logo

Revision ID: e4b1d7c9a2f0
Revises: a13e5c7d9b21
Create Date: 2026-11-30 10:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'e4b1d7c9a2f0'
down_revision = 'a13e5c7d9b21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('businesses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bank_account_holder', sa.String(length=70), server_default='', nullable=False))
        batch_op.add_column(sa.Column('iban', sa.String(length=34), server_default='', nullable=False))
        batch_op.add_column(sa.Column('bic', sa.String(length=11), server_default='', nullable=False))
        batch_op.add_column(sa.Column('logo', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('logo_type', sa.String(length=10), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('businesses', schema=None) as batch_op:
        batch_op.drop_column('logo_type')
        batch_op.drop_column('logo')
        batch_op.drop_column('bic')
        batch_op.drop_column('iban')
        batch_op.drop_column('bank_account_holder')
