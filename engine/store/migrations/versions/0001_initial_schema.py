"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 00:12:23.771203
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('definition_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('source_name', sa.String(length=400), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_definition_versions')),
    sa.UniqueConstraint('program', 'version', name=op.f('uq_definition_versions_program'))
    )
    with op.batch_alter_table('definition_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_definition_versions_program'), ['program'], unique=False)

    op.create_table('documents',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('media_type', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=400), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_documents'))
    )
    op.create_table('regions',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent_code', sa.String(length=64), nullable=True),
    sa.Column('path', sa.String(length=800), nullable=False),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['parent_code'], ['regions.code'], name=op.f('fk_regions_parent_code_regions')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_regions'))
    )
    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_regions_level'), ['level'], unique=False)
        batch_op.create_index(batch_op.f('ix_regions_parent_code'), ['parent_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_regions_path'), ['path'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('name', name=op.f('uq_users_name'))
    )
    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program', sa.String(length=64), nullable=False),
    sa.Column('definition_version_id', sa.Integer(), nullable=False),
    sa.Column('subject_code', sa.String(length=64), nullable=False),
    sa.Column('region_path', sa.String(length=800), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=64), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state_entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['definition_version_id'], ['definition_versions.id'], name=op.f('fk_cases_definition_version_id_definition_versions')),
    sa.ForeignKeyConstraint(['subject_code'], ['regions.code'], name=op.f('fk_cases_subject_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_due_at'), ['due_at'], unique=False)
        batch_op.create_index('ix_cases_program_state', ['program', 'state'], unique=False)
        batch_op.create_index('ix_cases_program_year', ['program', 'year'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_region_path'), ['region_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_subject_code'), ['subject_code'], unique=False)

    op.create_table('role_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=False),
    sa.Column('region_code', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_role_grants_region_code_regions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_role_grants_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_grants')),
    sa.UniqueConstraint('user_id', 'role', 'region_code', name=op.f('uq_role_grants_user_id'))
    )
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_grants_user_id'), ['user_id'], unique=False)

    op.create_table('transition_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('trigger', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=True),
    sa.Column('dest', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('program', sa.String(length=64), nullable=False),
    sa.Column('definition_version', sa.Integer(), nullable=False),
    sa.Column('definition_sha256', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('guards', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('documents', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_transition_records_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transition_records')),
    sa.UniqueConstraint('case_id', 'seq', name=op.f('uq_transition_records_case_id')),
    sa.UniqueConstraint('hash', name=op.f('uq_transition_records_hash'))
    )
    with op.batch_alter_table('transition_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transition_records_case_id'), ['case_id'], unique=False)


    _protect_history()


def downgrade() -> None:
    _unprotect_history()
    with op.batch_alter_table('transition_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transition_records_case_id'))

    op.drop_table('transition_records')
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_role_grants_user_id'))

    op.drop_table('role_grants')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_subject_code'))
        batch_op.drop_index(batch_op.f('ix_cases_region_path'))
        batch_op.drop_index('ix_cases_program_year')
        batch_op.drop_index('ix_cases_program_state')
        batch_op.drop_index(batch_op.f('ix_cases_due_at'))

    op.drop_table('cases')
    op.drop_table('users')
    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_regions_path'))
        batch_op.drop_index(batch_op.f('ix_regions_parent_code'))
        batch_op.drop_index(batch_op.f('ix_regions_level'))

    op.drop_table('regions')
    op.drop_table('documents')
    with op.batch_alter_table('definition_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_definition_versions_program'))

    op.drop_table('definition_versions')


# History is append-only: the database itself refuses UPDATE and DELETE on it.
_SQLITE_TRIGGERS = {
    "transition_records_no_update": "BEFORE UPDATE",
    "transition_records_no_delete": "BEFORE DELETE",
}


def _protect_history() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, when in _SQLITE_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} {when} ON transition_records "
                "BEGIN SELECT RAISE(ABORT, 'history is append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION rukun_history_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'history is append-only'; END; $$ LANGUAGE plpgsql"
    )
    op.execute(
        "CREATE TRIGGER transition_records_append_only BEFORE UPDATE OR DELETE "
        "ON transition_records FOR EACH ROW EXECUTE FUNCTION rukun_history_append_only()"
    )


def _unprotect_history() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    op.execute("DROP TRIGGER IF EXISTS transition_records_append_only ON transition_records")
    op.execute("DROP FUNCTION IF EXISTS rukun_history_append_only()")
