"""connection requests: "ask a colleague to connect" links

A member sends a one-time link to whoever holds a Clockify key; only the SHA-256 of its token is kept.

Revision ID: c0a7e11e6a01
Revises: 3b6cf368a367
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c0a7e11e6a01'
down_revision = '3b6cf368a367'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('connection_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('business_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_user_id', sa.Integer(), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('connection_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['connection_id'], ['clockify_connections.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by_user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('connection_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_connection_requests_business_id'), ['business_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_connection_requests_requested_by_user_id'), ['requested_by_user_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('connection_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_connection_requests_requested_by_user_id'))
        batch_op.drop_index(batch_op.f('ix_connection_requests_business_id'))
    op.drop_table('connection_requests')
