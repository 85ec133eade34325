"""when it happened; guessed types

`tickets.incident_time`: when the problem happened, as the reporter said it ("每天晚上十点以后"),
free text up to 200 characters. Before this column the bot appended it to the ticket's text
("发生时间：…"); those tickets keep it there.
`tickets.type_guessed`: the event type is the bot's guess (a ticket created with needs_operator);
such a ticket is never the primary of duplicates. Existing rows: false.

Revision ID: 0004_incident_time
Revises: 0003_grid_joint
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_incident_time'
down_revision = '0003_grid_joint'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('incident_time', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('type_guessed', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('type_guessed')
        batch.drop_column('incident_time')
