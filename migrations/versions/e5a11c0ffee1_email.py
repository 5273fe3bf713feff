"""mail: the send log, the customer's view link, invoice mail templates, reminder stages and their claims

Revision ID: e5a11c0ffee1
Revises: 8e4b2c6d1f07
Create Date: 2026-11-30 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'e5a11c0ffee1'
down_revision = '8e4b2c6d1f07'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('businesses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invoice_mail_subject', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('invoice_mail_body', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('reminders_enabled', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('view_token', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('viewed_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_invoices_view_token', ['view_token'], unique=True)
    op.create_table(
        'mail_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('business_id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('stage_days', sa.Integer(), nullable=True),
        sa.Column('to_addresses', sa.Text(), nullable=False),
        sa.Column('cc_addresses', sa.Text(), nullable=False),
        sa.Column('sent_by_user_id', sa.Integer(), nullable=True),
        sa.Column('outcome', sa.String(length=10), nullable=False),
        sa.Column('answer', sa.Text(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('invoice', 'reminder', 'invitation')", name='ck_mail_attempts_kind'),
        sa.CheckConstraint("outcome IN ('sent', 'failed')", name='ck_mail_attempts_outcome'),
        sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['sent_by_user_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_mail_attempts_business_id', 'mail_attempts', ['business_id'])
    op.create_index('ix_mail_attempts_invoice_id', 'mail_attempts', ['invoice_id'])
    op.create_table(
        'reminder_stages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('business_id', sa.Integer(), nullable=False),
        sa.Column('days', sa.Integer(), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.CheckConstraint('days > 0', name='ck_reminder_stages_days'),
        sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('business_id', 'days', name='uq_reminder_stages_business_days'),
    )
    op.create_index('ix_reminder_stages_business_id', 'reminder_stages', ['business_id'])
    op.create_table(
        'reminder_claims',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=False),
        sa.Column('stage_days', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('claimed_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("state IN ('sending', 'sent', 'failed')", name='ck_reminder_claims_state'),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('invoice_id', 'stage_days', name='uq_reminder_claims_invoice_stage'),
    )
    op.create_index('ix_reminder_claims_invoice_id', 'reminder_claims', ['invoice_id'])


def downgrade():
    op.drop_index('ix_reminder_claims_invoice_id', table_name='reminder_claims')
    op.drop_table('reminder_claims')
    op.drop_index('ix_reminder_stages_business_id', table_name='reminder_stages')
    op.drop_table('reminder_stages')
    op.drop_index('ix_mail_attempts_invoice_id', table_name='mail_attempts')
    op.drop_index('ix_mail_attempts_business_id', table_name='mail_attempts')
    op.drop_table('mail_attempts')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('ix_invoices_view_token')
        batch_op.drop_column('viewed_at')
        batch_op.drop_column('view_token')
    with op.batch_alter_table('businesses', schema=None) as batch_op:
        batch_op.drop_column('reminders_enabled')
        batch_op.drop_column('invoice_mail_body')
        batch_op.drop_column('invoice_mail_subject')
