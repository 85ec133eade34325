"""initial schema

Regions, departments, routing rules, reporters, tickets, attachments, ticket events, API tokens,
idempotency keys, ticket counters.

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('scope', 'key', name='uq_idempotency_scope_key')
    )
    op.create_table('regions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('level', sa.String(length=24), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['regions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index('ix_regions_parent_id', 'regions', ['parent_id'], unique=False)

    op.create_table('reporters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('channel_identity', sa.String(length=200), nullable=True),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_reporters_channel_identity', 'reporters', ['channel_identity'], unique=False)
    op.create_index('ix_reporters_phone', 'reporters', ['phone'], unique=False)

    op.create_table('ticket_counters',
    sa.Column('day', sa.String(length=8), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('departments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('level', sa.String(length=24), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('intake_desk', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['departments.id'], ),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('name')
    )
    op.create_index('ix_departments_kind', 'departments', ['kind'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=24), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('department_regions',
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('department_id', 'region_id')
    )
    op.create_table('routing_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=True),
    sa.Column('region_level', sa.String(length=24), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('department_kind', sa.String(length=60), nullable=True),
    sa.Column('level', sa.String(length=24), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], ),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_index('ix_routing_rules_event_type', 'routing_rules', ['event_type'], unique=False)

    op.create_table('tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    sa.Column('original_text', sa.Text(), nullable=False),
    sa.Column('normalised_text', sa.Text(), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=True),
    sa.Column('nlu_confidence', sa.Float(), nullable=True),
    sa.Column('location_text', sa.Text(), nullable=True),
    sa.Column('location_key', sa.String(length=300), nullable=True),
    sa.Column('region_id', sa.Integer(), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('parties', sa.JSON(), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('level', sa.String(length=24), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('deadline_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('dispatched_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('urge_count', sa.Integer(), nullable=False),
    sa.Column('escalation_count', sa.Integer(), nullable=False),
    sa.Column('duplicate_count', sa.Integer(), nullable=False),
    sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('needs_operator', sa.Boolean(), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('rating_comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], ),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['tickets.id'], ),
    sa.ForeignKeyConstraint(['merged_into_id'], ['tickets.id'], ),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], ),
    sa.ForeignKeyConstraint(['reporter_id'], ['reporters.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    op.create_index('ix_tickets_channel', 'tickets', ['channel'], unique=False)
    op.create_index('ix_tickets_created_at', 'tickets', ['created_at'], unique=False)
    op.create_index('ix_tickets_deadline_at', 'tickets', ['deadline_at'], unique=False)
    op.create_index('ix_tickets_department_id', 'tickets', ['department_id'], unique=False)
    op.create_index('ix_tickets_duplicate_of_id', 'tickets', ['duplicate_of_id'], unique=False)
    op.create_index('ix_tickets_event_type', 'tickets', ['event_type'], unique=False)
    op.create_index('ix_tickets_location_key', 'tickets', ['location_key'], unique=False)
    op.create_index('ix_tickets_region_id', 'tickets', ['region_id'], unique=False)
    op.create_index('ix_tickets_reporter_id', 'tickets', ['reporter_id'], unique=False)
    op.create_index('ix_tickets_state', 'tickets', ['state'], unique=False)
    op.create_index('ix_tickets_type_created', 'tickets', ['event_type', 'created_at'], unique=False)

    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('stored_path', sa.Text(), nullable=True),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_attachments_ticket_id', 'attachments', ['ticket_id'], unique=False)

    op.create_table('ticket_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('actor_role', sa.String(length=24), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('from_state', sa.String(length=24), nullable=True),
    sa.Column('to_state', sa.String(length=24), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_ticket_events_ticket_id', 'ticket_events', ['ticket_id'], unique=False)



def downgrade() -> None:
    op.drop_index('ix_ticket_events_ticket_id', table_name='ticket_events')

    op.drop_table('ticket_events')
    op.drop_index('ix_attachments_ticket_id', table_name='attachments')

    op.drop_table('attachments')
    op.drop_index('ix_tickets_type_created', table_name='tickets')
    op.drop_index('ix_tickets_state', table_name='tickets')
    op.drop_index('ix_tickets_reporter_id', table_name='tickets')
    op.drop_index('ix_tickets_region_id', table_name='tickets')
    op.drop_index('ix_tickets_location_key', table_name='tickets')
    op.drop_index('ix_tickets_event_type', table_name='tickets')
    op.drop_index('ix_tickets_duplicate_of_id', table_name='tickets')
    op.drop_index('ix_tickets_department_id', table_name='tickets')
    op.drop_index('ix_tickets_deadline_at', table_name='tickets')
    op.drop_index('ix_tickets_created_at', table_name='tickets')
    op.drop_index('ix_tickets_channel', table_name='tickets')

    op.drop_table('tickets')
    op.drop_index('ix_routing_rules_event_type', table_name='routing_rules')

    op.drop_table('routing_rules')
    op.drop_table('department_regions')
    op.drop_table('api_tokens')
    op.drop_index('ix_departments_kind', table_name='departments')

    op.drop_table('departments')
    op.drop_table('ticket_counters')
    op.drop_index('ix_reporters_phone', table_name='reporters')
    op.drop_index('ix_reporters_channel_identity', table_name='reporters')

    op.drop_table('reporters')
    op.drop_index('ix_regions_parent_id', table_name='regions')

    op.drop_table('regions')
    op.drop_table('idempotency_keys')
