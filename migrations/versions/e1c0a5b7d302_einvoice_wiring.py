"""e-invoices: structured addresses, tax ids, contacts and electronic addresses on businesses and
customers; a customer's buyer reference, preferred e-invoice format and language; VAT treatments on
invoices (the default) and lines (their own, NULL following the invoice). The free-text addresses are
kept as they were, to be completed.

Revision ID: e1c0a5b7d302
Revises: 4f9a7d3b2e18
Create Date: 2026-11-30 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'e1c0a5b7d302'
down_revision = '4f9a7d3b2e18'
branch_labels = None
depends_on = None

PARTY = (('address_line1', 200), ('address_line2', 200), ('postcode', 20), ('city', 100), ('country', 2),
         ('vat_id', 20), ('tax_number', 40), ('registration_id', 64), ('contact_name', 120),
         ('contact_phone', 40), ('contact_email', 254), ('endpoint_scheme', 4), ('endpoint_id', 100))
VAT_CATEGORIES = "('S', 'Z', 'E', 'AE', 'K', 'G', 'O')"


def upgrade():
    for table in ('businesses', 'customers'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, length in PARTY:
                batch_op.add_column(sa.Column(name, sa.String(length=length), server_default='', nullable=False))
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('buyer_reference', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('einvoice_format', sa.String(length=20), server_default='none', nullable=False))
        batch_op.add_column(sa.Column('invoice_language', sa.String(length=2), server_default='en', nullable=False))
        batch_op.create_check_constraint(
            'ck_customers_einvoice_format',
            "einvoice_format IN ('none', 'facturx', 'xrechnung-cii', 'xrechnung-ubl', 'peppol')")
        batch_op.create_check_constraint('ck_customers_invoice_language', "invoice_language IN ('en', 'de', 'fr')")
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vat_category', sa.String(length=2), server_default='S', nullable=False))
        batch_op.add_column(sa.Column('vat_exemption_reason', sa.Text(), server_default='', nullable=False))
        batch_op.create_check_constraint('ck_invoices_vat_category', f"vat_category IN {VAT_CATEGORIES}")
    with op.batch_alter_table('line_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vat_category', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('vat_rate', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('vat_exemption_reason', sa.Text(), nullable=True))
        batch_op.create_check_constraint('ck_line_items_vat_category', f"vat_category IN {VAT_CATEGORIES}")


def downgrade():
    with op.batch_alter_table('line_items', schema=None) as batch_op:
        batch_op.drop_constraint('ck_line_items_vat_category', type_='check')
        for name in ('vat_exemption_reason', 'vat_rate', 'vat_category'):
            batch_op.drop_column(name)
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_constraint('ck_invoices_vat_category', type_='check')
        batch_op.drop_column('vat_exemption_reason')
        batch_op.drop_column('vat_category')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_constraint('ck_customers_invoice_language', type_='check')
        batch_op.drop_constraint('ck_customers_einvoice_format', type_='check')
        for name in ('invoice_language', 'einvoice_format', 'buyer_reference'):
            batch_op.drop_column(name)
    for table in ('customers', 'businesses'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _ in reversed(PARTY):
                batch_op.drop_column(name)
