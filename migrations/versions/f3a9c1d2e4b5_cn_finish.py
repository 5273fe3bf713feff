"""credit notes per line: what the credit notes of an invoice credited of each of its lines, so a line
is credited at most once in total (line_items.credited_minor).

Credit notes issued before this revision named no line: an invoice credited in full has every line
credited; a partly credited invoice counts its credit notes' lines against its lines of the same
description (at most each line's amount), which is how they were copied.

Revision ID: f3a9c1d2e4b5
Revises: c4e7d2a1b803
Create Date: 2026-11-30 16:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'f3a9c1d2e4b5'
down_revision = 'c4e7d2a1b803'
branch_labels = None
depends_on = None

CREDITED = """
SELECT COALESCE(SUM(credit.amount_minor), 0) FROM line_items credit JOIN invoices note ON note.id = credit.invoice_id
WHERE note.corrects_invoice_id = line_items.invoice_id AND credit.description = line_items.description"""


def upgrade():
    with op.batch_alter_table('line_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credited_minor', sa.BigInteger(), server_default='0', nullable=False))
    op.execute("UPDATE line_items SET credited_minor = amount_minor "
               "WHERE invoice_id IN (SELECT id FROM invoices WHERE status = 'credited')")
    op.execute(f"UPDATE line_items SET credited_minor = CASE WHEN ({CREDITED}) > amount_minor THEN amount_minor "
               f"ELSE ({CREDITED}) END WHERE amount_minor > 0 AND invoice_id IN "
               "(SELECT id FROM invoices WHERE kind = 'invoice' AND status <> 'credited' AND credited_minor > 0)")


def downgrade():
    with op.batch_alter_table('line_items', schema=None) as batch_op:
        batch_op.drop_column('credited_minor')
