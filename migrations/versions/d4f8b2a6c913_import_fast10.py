"""import fast 10: a stored preview page's entries become the last column (SQLite)

SQLite keeps a row's columns in order, and a page's entries are ~0.7 MB: reading its digest or what is
planned, which came after them, walked their ~175 overflow pages first (~0.3 ms a page, several passes
over a 66-page quarter in "Show the lines" and the confirm). The table is rebuilt with the entries last.
PostgreSQL keeps a large value apart from its row (TOAST) whatever the order: nothing to do there.

Revision ID: d4f8b2a6c913
Revises: c7e2a9f4d1b6
Create Date: 2026-12-01 02:15:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd4f8b2a6c913'
down_revision = 'c7e2a9f4d1b6'
branch_labels = None
depends_on = None

ENTRIES_LAST = ('id', 'preview_id', 'number', 'unreadable', 'planned', 'digest', 'entries')
ENTRIES_FIRST = ('id', 'preview_id', 'number', 'entries', 'unreadable', 'planned', 'digest')


def _reorder(order):
    if op.get_bind().dialect.name != 'sqlite':
        return
    with op.batch_alter_table('import_preview_pages', recreate='always', partial_reordering=[order]):
        pass


def upgrade():
    _reorder(ENTRIES_LAST)


def downgrade():
    _reorder(ENTRIES_FIRST)
