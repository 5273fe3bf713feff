"""loose-ends7: the credit note's own mail subject and body per business, beside the invoice pair (empty:
Hourbill's wording in the customer's language).

Revision ID: c7e1d3a5f902
Revises: b2d8f4a6c1e3
Create Date: 2026-11-30 22:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c7e1d3a5f902'
down_revision = 'b2d8f4a6c1e3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('businesses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_note_mail_subject', sa.String(length=200), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('credit_note_mail_body', sa.Text(), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('businesses', schema=None) as batch_op:
        batch_op.drop_column('credit_note_mail_body')
        batch_op.drop_column('credit_note_mail_subject')
