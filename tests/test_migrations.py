"""The migrations build exactly the schema models.py describes, from an empty database."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app import create_app
from extensions import db


def test_upgrade_from_empty_matches_the_models_and_downgrades_cleanly(tmp_path, database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url}, instance_path=str(tmp_path / "instance"))
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
        downgrade(revision="base")
        with db.engine.connect() as connection:
            tables = set(db.inspect(connection).get_table_names())
        assert tables <= {"alembic_version"}
