"""businesses own everything: memberships, invitations, business_id on every owned table

Each existing user becomes the owner of a new business holding all of their data: the business takes
the user's id (so every row's business_id is its old user_id) and their profile; every invoice number,
link and imported entry is kept. Numbering and imported entries become unique per business. A
connection keeps who pasted its key as created_by_user_id (the key's associated data names that id)
and starts private.

The downgrade gives each row back to its business's first owner and the profile back to that owner;
memberships and invitations are lost with their tables.

Revision ID: 3b6cf368a367
Revises: a7c3e1f09b42
Create Date: 2026-12-02 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3b6cf368a367'
down_revision = 'a7c3e1f09b42'
branch_labels = None
depends_on = None

# users column -> businesses column
PROFILE = {
    'business_name': 'name', 'business_address': 'address', 'business_email': 'email', 'tax_id': 'tax_id',
    'default_currency': 'default_currency', 'default_hourly_rate_minor': 'default_hourly_rate_minor',
    'default_tax_rate': 'default_tax_rate', 'invoice_prefix': 'invoice_prefix',
    'next_invoice_number': 'next_invoice_number', 'payment_terms_days': 'payment_terms_days',
}
PROFILE_TYPES = {
    'business_name': sa.String(length=200), 'business_address': sa.Text(), 'business_email': sa.String(length=254),
    'tax_id': sa.String(length=64), 'default_currency': sa.String(length=3),
    'default_hourly_rate_minor': sa.BigInteger(), 'default_tax_rate': sa.BigInteger(),
    'invoice_prefix': sa.String(length=20), 'next_invoice_number': sa.Integer(), 'payment_terms_days': sa.Integer(),
}
# Tables whose user_id becomes business_id (import_previews keeps its user_id: who asked for it).
MOVED = ('customers', 'invoices', 'clockify_connections', 'import_previews', 'imported_entries')


def _table(name, *columns):
    return sa.table(name, *(sa.column(column) for column in columns))


def upgrade():
    op.create_table('businesses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('tax_id', sa.String(length=64), nullable=False),
    sa.Column('default_currency', sa.String(length=3), nullable=False),
    sa.Column('default_hourly_rate_minor', sa.BigInteger(), nullable=True),
    sa.Column('default_tax_rate', sa.BigInteger(), nullable=False),
    sa.Column('invoice_prefix', sa.String(length=20), nullable=False),
    sa.Column('next_invoice_number', sa.Integer(), nullable=False),
    sa.Column('payment_terms_days', sa.Integer(), nullable=False),
    sa.Column('require_two_factor', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('business_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("role IN ('owner', 'admin', 'member', 'viewer')", name='ck_memberships_role'),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'business_id', name='uq_memberships_user_business')
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_business_id'), ['business_id'], unique=False)

    op.create_table('invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('business_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('invited_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("role IN ('owner', 'admin', 'member', 'viewer')", name='ck_invitations_role'),
    sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invited_by_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitations_business_id'), ['business_id'], unique=False)

    # Every user owns a business with their id and their profile.
    users = _table('users', 'id', 'created_at', *PROFILE)
    businesses = _table('businesses', 'id', 'created_at', 'require_two_factor', *PROFILE.values())
    memberships = _table('memberships', 'user_id', 'business_id', 'role', 'created_at')
    op.execute(businesses.insert().from_select(
        ['id', 'created_at', 'require_two_factor', *PROFILE.values()],
        sa.select(users.c.id, users.c.created_at, sa.false(), *(users.c[column] for column in PROFILE))))
    op.execute(memberships.insert().from_select(
        ['user_id', 'business_id', 'role', 'created_at'],
        sa.select(users.c.id, users.c.id, sa.literal('owner'), users.c.created_at)))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("SELECT setval(pg_get_serial_sequence('businesses', 'id'), "
                   "COALESCE((SELECT MAX(id) FROM businesses), 0) + 1, false)")

    # business_id = the old user_id everywhere; a connection's user_id is who pasted its key.
    for name in MOVED:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column('business_id', sa.Integer(), nullable=True))
            if name == 'clockify_connections':
                batch_op.add_column(sa.Column('created_by_user_id', sa.Integer(), nullable=True))
                batch_op.add_column(sa.Column('shared', sa.Boolean(), nullable=True))
        table = _table(name, 'user_id', 'business_id', 'created_by_user_id', 'shared')
        values = {'business_id': table.c.user_id}
        if name == 'clockify_connections':
            values.update(created_by_user_id=table.c.user_id, shared=sa.false())
        op.execute(table.update().values(**values))

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.alter_column('business_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_customers_business_id', 'businesses', ['business_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_customers_business_id'), ['business_id'], unique=False)
        batch_op.drop_index(batch_op.f('ix_customers_user_id'))
        batch_op.drop_column('user_id')

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.alter_column('business_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_invoices_business_id', 'businesses', ['business_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_invoices_business_id'), ['business_id'], unique=False)
        batch_op.drop_constraint('uq_invoices_user_number', type_='unique')
        batch_op.create_unique_constraint('uq_invoices_business_number', ['business_id', 'number'])
        batch_op.drop_index(batch_op.f('ix_invoices_user_id'))
        batch_op.drop_column('user_id')

    with op.batch_alter_table('clockify_connections', schema=None) as batch_op:
        batch_op.alter_column('business_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('created_by_user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('shared', existing_type=sa.Boolean(), nullable=False)
        batch_op.create_foreign_key('fk_clockify_connections_business_id', 'businesses', ['business_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_foreign_key('fk_clockify_connections_created_by_user_id', 'users',
                                    ['created_by_user_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_clockify_connections_business_id'), ['business_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_clockify_connections_created_by_user_id'), ['created_by_user_id'],
                              unique=False)
        batch_op.drop_index(batch_op.f('ix_clockify_connections_user_id'))
        batch_op.drop_column('user_id')

    with op.batch_alter_table('import_previews', schema=None) as batch_op:
        batch_op.alter_column('business_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_import_previews_business_id', 'businesses', ['business_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_import_previews_business_id'), ['business_id'], unique=False)

    with op.batch_alter_table('imported_entries', schema=None) as batch_op:
        batch_op.alter_column('business_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_imported_entries_business_id', 'businesses', ['business_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.drop_constraint('uq_imported_entries_user_entry', type_='unique')
        batch_op.create_unique_constraint('uq_imported_entries_business_entry',
                                          ['business_id', 'workspace_id', 'entry_id'])
        batch_op.drop_column('user_id')

    with op.batch_alter_table('users', schema=None) as batch_op:
        for column in PROFILE:
            batch_op.drop_column(column)
    _check_links()


def _check_links():
    """SQLite migrates with foreign keys off (migrations/env.py): refuse to commit a dangling row."""
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        broken = bind.exec_driver_sql('PRAGMA foreign_key_check').fetchall()
        if broken:
            raise RuntimeError(f'The migration would leave rows pointing at nothing: {broken[:5]}')


def downgrade():
    # Each business's rows go back to its first owner (the user whose id it took, for migrated data).
    memberships = _table('memberships', 'user_id', 'business_id', 'role', 'id')
    businesses = _table('businesses', 'id', *PROFILE.values())

    def first_owner(business_id):
        return (sa.select(memberships.c.user_id)
                .where(memberships.c.business_id == business_id, memberships.c.role == 'owner')
                .order_by(memberships.c.id).limit(1).scalar_subquery())

    with op.batch_alter_table('users', schema=None) as batch_op:
        for column, type_ in PROFILE_TYPES.items():
            batch_op.add_column(sa.Column(column, type_, nullable=True))
    users = _table('users', 'id', *PROFILE)
    op.execute(users.update().values(**{
        column: sa.select(businesses.c[name])
        .join(memberships, memberships.c.business_id == businesses.c.id)
        .where(memberships.c.user_id == users.c.id, memberships.c.role == 'owner')
        .order_by(memberships.c.id).limit(1).scalar_subquery()
        for column, name in PROFILE.items()}))
    defaults = {'business_name': '', 'business_address': '', 'business_email': '', 'tax_id': '',
                'default_currency': 'USD', 'default_tax_rate': 0, 'invoice_prefix': 'INV-',
                'next_invoice_number': 1, 'payment_terms_days': 30}
    for column, value in defaults.items():
        op.execute(users.update().where(users.c[column].is_(None)).values(**{column: value}))
    with op.batch_alter_table('users', schema=None) as batch_op:
        for column, type_ in PROFILE_TYPES.items():
            if column != 'default_hourly_rate_minor':
                batch_op.alter_column(column, existing_type=type_, nullable=False)

    for name in MOVED:
        if name != 'import_previews':
            with op.batch_alter_table(name, schema=None) as batch_op:
                batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        table = _table(name, 'user_id', 'business_id', 'created_by_user_id')
        owner = table.c.created_by_user_id if name == 'clockify_connections' else first_owner(table.c.business_id)
        if name != 'import_previews':
            op.execute(table.update().values(user_id=owner))

    with op.batch_alter_table('imported_entries', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_imported_entries_user_id', 'users', ['user_id'], ['id'], ondelete='CASCADE')
        batch_op.drop_constraint('uq_imported_entries_business_entry', type_='unique')
        batch_op.create_unique_constraint('uq_imported_entries_user_entry', ['user_id', 'workspace_id', 'entry_id'])
        batch_op.drop_constraint('fk_imported_entries_business_id', type_='foreignkey')
        batch_op.drop_column('business_id')

    with op.batch_alter_table('import_previews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_previews_business_id'))
        batch_op.drop_constraint('fk_import_previews_business_id', type_='foreignkey')
        batch_op.drop_column('business_id')

    with op.batch_alter_table('clockify_connections', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_clockify_connections_user_id', 'users', ['user_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_clockify_connections_user_id'), ['user_id'], unique=False)
        batch_op.drop_index(batch_op.f('ix_clockify_connections_created_by_user_id'))
        batch_op.drop_index(batch_op.f('ix_clockify_connections_business_id'))
        batch_op.drop_constraint('fk_clockify_connections_created_by_user_id', type_='foreignkey')
        batch_op.drop_constraint('fk_clockify_connections_business_id', type_='foreignkey')
        batch_op.drop_column('shared')
        batch_op.drop_column('created_by_user_id')
        batch_op.drop_column('business_id')

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_invoices_user_id', 'users', ['user_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_invoices_user_id'), ['user_id'], unique=False)
        batch_op.drop_constraint('uq_invoices_business_number', type_='unique')
        batch_op.create_unique_constraint('uq_invoices_user_number', ['user_id', 'number'])
        batch_op.drop_index(batch_op.f('ix_invoices_business_id'))
        batch_op.drop_constraint('fk_invoices_business_id', type_='foreignkey')
        batch_op.drop_column('business_id')

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_customers_user_id', 'users', ['user_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_customers_user_id'), ['user_id'], unique=False)
        batch_op.drop_index(batch_op.f('ix_customers_business_id'))
        batch_op.drop_constraint('fk_customers_business_id', type_='foreignkey')
        batch_op.drop_column('business_id')

    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitations_business_id'))
    op.drop_table('invitations')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_memberships_business_id'))
    op.drop_table('memberships')
    op.drop_table('businesses')
    _check_links()
