"""credit notes: an invoice row of kind credit_note naming the invoice it corrects, numbered in its own
sequence (the business's credit note prefix, format, counter and its year); the invoice's credited sum;
the statuses "issued" (a credit note) and "credited" (an invoice credited in full); and the business
setting that forbids voiding a sent invoice.

Revision ID: c4e7d2a1b803
Revises: 9d3f6b1c2a75
Create Date: 2026-11-30 13:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'c4e7d2a1b803'
down_revision = '9d3f6b1c2a75'
branch_labels = None
depends_on = None

BEFORE = "status IN ('draft', 'sent', 'partially_paid', 'paid', 'void')"
AFTER = "status IN ('draft', 'sent', 'partially_paid', 'paid', 'void', 'issued', 'credited')"


def upgrade():
    with op.batch_alter_table('businesses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_note_prefix', sa.String(length=20), server_default='CN-', nullable=False))
        batch_op.add_column(sa.Column('credit_note_number_format', sa.String(length=20),
                                      server_default='{year}-{seq:04}', nullable=False))
        batch_op.add_column(sa.Column('next_credit_note_number', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('credit_note_number_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('void_forbidden_once_sent', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=12), server_default='invoice', nullable=False))
        batch_op.add_column(sa.Column('corrects_invoice_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('credited_minor', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.create_index('ix_invoices_corrects_invoice_id', ['corrects_invoice_id'], unique=False)
        batch_op.create_foreign_key('fk_invoices_corrects_invoice_id', 'invoices', ['corrects_invoice_id'], ['id'],
                                    ondelete='RESTRICT')
        batch_op.create_check_constraint('ck_invoices_kind', "kind IN ('invoice', 'credit_note')")
        batch_op.drop_constraint('ck_invoices_status', type_='check')
        batch_op.create_check_constraint('ck_invoices_status', AFTER)


def downgrade():
    bind = op.get_bind()
    invoices = sa.table('invoices', sa.column('id', sa.Integer), sa.column('kind', sa.String),
                        sa.column('status', sa.String), sa.column('total_minor', sa.BigInteger),
                        sa.column('paid_minor', sa.BigInteger))
    # Before credit notes there were none: they go (their lines with them), and an invoice credited in
    # full reads as void, which is what released its entries before.
    bind.execute(sa.text("DELETE FROM line_items WHERE invoice_id IN (SELECT id FROM invoices WHERE kind = 'credit_note')"))
    bind.execute(sa.text("UPDATE invoices SET corrects_invoice_id = NULL"))
    bind.execute(sa.text("DELETE FROM invoices WHERE kind = 'credit_note'"))
    bind.execute(invoices.update().where(invoices.c.status == 'credited').values(status='void'))
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_constraint('ck_invoices_status', type_='check')
        batch_op.create_check_constraint('ck_invoices_status', BEFORE)
        batch_op.drop_constraint('ck_invoices_kind', type_='check')
        batch_op.drop_constraint('fk_invoices_corrects_invoice_id', type_='foreignkey')
        batch_op.drop_index('ix_invoices_corrects_invoice_id')
        batch_op.drop_column('credited_minor')
        batch_op.drop_column('corrects_invoice_id')
        batch_op.drop_column('kind')
    with op.batch_alter_table('businesses', schema=None) as batch_op:
        batch_op.drop_column('void_forbidden_once_sent')
        batch_op.drop_column('credit_note_number_year')
        batch_op.drop_column('next_credit_note_number')
        batch_op.drop_column('credit_note_number_format')
        batch_op.drop_column('credit_note_prefix')
