"""the schema says what it means: import previews keep their pager in columns, line sources are checked

Revision ID: 5c2d8e7f1a93
Revises: c0a7e11e6a01
Create Date: 2026-11-30 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '5c2d8e7f1a93'
down_revision = 'c0a7e11e6a01'
branch_labels = None
depends_on = None

PAGER = ('windows', 'cursor', 'per_member')  # what import_previews.filters held besides the filters

previews = sa.table('import_previews', sa.column('id', sa.Integer), sa.column('filters', sa.JSON),
                    sa.column('windows', sa.JSON), sa.column('cursor_window', sa.Integer),
                    sa.column('cursor_page', sa.Integer), sa.column('per_member', sa.Boolean))


def upgrade():
    with op.batch_alter_table('import_previews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('windows', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('cursor_window', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cursor_page', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('per_member', sa.Boolean(), server_default=sa.false(), nullable=False))
    bind = op.get_bind()
    for row in bind.execute(sa.select(previews.c.id, previews.c.filters)).all():
        state = dict(row.filters or {})
        windows, cursor, per_member = (state.pop(name, None) for name in PAGER)
        bind.execute(previews.update().where(previews.c.id == row.id).values(
            filters=state, windows=windows or [], per_member=bool(per_member),
            cursor_window=cursor[0] if cursor else None, cursor_page=cursor[1] if cursor else None))
    with op.batch_alter_table('import_previews', schema=None) as batch_op:
        batch_op.alter_column('windows', existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table('line_items', schema=None) as batch_op:
        batch_op.create_check_constraint('ck_line_items_source', "source IN ('manual', 'clockify')")


def downgrade():
    with op.batch_alter_table('line_items', schema=None) as batch_op:
        batch_op.drop_constraint('ck_line_items_source', type_='check')
    bind = op.get_bind()
    rows = bind.execute(sa.select(previews.c.id, previews.c.filters, previews.c.windows, previews.c.cursor_window,
                                  previews.c.cursor_page, previews.c.per_member)).all()
    for row in rows:
        state = dict(row.filters or {})  # each key as the older code wrote it, left out when it had none
        if row.windows:
            state['windows'] = row.windows
        if row.cursor_window is not None:
            state['cursor'] = [row.cursor_window, row.cursor_page]
        if row.per_member:
            state['per_member'] = True
        bind.execute(previews.update().where(previews.c.id == row.id).values(filters=state))
    with op.batch_alter_table('import_previews', schema=None) as batch_op:
        batch_op.drop_column('per_member')
        batch_op.drop_column('cursor_page')
        batch_op.drop_column('cursor_window')
        batch_op.drop_column('windows')
