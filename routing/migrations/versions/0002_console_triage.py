"""console and transcript triage

Drafts from hotline transcripts and what the model made of them (triage_records), operators'
corrections for the trainers (training_candidates), console logins (console_users,
console_sessions). The new ticket state `awaiting_review` needs no schema change (tickets.state
is a string).

Revision ID: 0002_console
Revises: 0001
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_console'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('console_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('role', sa.String(length=24), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('console_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['console_users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index('ix_console_sessions_user_id', 'console_sessions', ['user_id'], unique=False)

    op.create_table('training_candidates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('ticket_number', sa.String(length=32), nullable=True),
    sa.Column('field', sa.String(length=24), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('model_answer', sa.JSON(), nullable=True),
    sa.Column('model_confidence', sa.Float(), nullable=True),
    sa.Column('operator_answer', sa.JSON(), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('actor_role', sa.String(length=24), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('superseded_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_training_candidates_created_at', 'training_candidates', ['created_at'], unique=False)
    op.create_index('ix_training_candidates_field', 'training_candidates', ['field'], unique=False)
    op.create_index('ix_training_candidates_ticket_id', 'training_candidates', ['ticket_id'], unique=False)

    op.create_table('triage_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=True),
    sa.Column('transcript', sa.Text(), nullable=False),
    sa.Column('turns', sa.JSON(), nullable=False),
    sa.Column('caller_text', sa.Text(), nullable=False),
    sa.Column('nlu_text', sa.Text(), nullable=True),
    sa.Column('nlu', sa.JSON(), nullable=False),
    sa.Column('predicted_type', sa.String(length=64), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('predicted_location', sa.Text(), nullable=True),
    sa.Column('predicted_region', sa.String(length=32), nullable=True),
    sa.Column('predicted_parties', sa.JSON(), nullable=False),
    sa.Column('low_confidence', sa.Boolean(), nullable=False),
    sa.Column('duplicate_number', sa.String(length=32), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ticket_id')
    )


def downgrade() -> None:
    op.drop_table('triage_records')
    op.drop_index('ix_training_candidates_ticket_id', table_name='training_candidates')
    op.drop_index('ix_training_candidates_field', table_name='training_candidates')
    op.drop_index('ix_training_candidates_created_at', table_name='training_candidates')
    op.drop_table('training_candidates')
    op.drop_index('ix_console_sessions_user_id', table_name='console_sessions')
    op.drop_table('console_sessions')
    op.drop_table('console_users')
