"""grid staff and joint handling

Grid staff (网格员) with the grids they cover and their channel identities (grid_staff,
grid_staff_regions, grid_staff_identities), the tickets they reported from patrol (grid_reports,
`on_spot` = 小事格内解决) and the assisting departments' tasks of joint handling (assist_tasks,
中心吹哨、部门报到). No change to existing tables.

Revision ID: 0003_grid_joint
Revises: 0002_console
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_grid_joint'
down_revision = '0002_console'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('grid_staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('grid_staff_regions',
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['grid_staff.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('staff_id', 'region_id')
    )
    op.create_table('grid_staff_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('identity', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['grid_staff.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('identity')
    )
    op.create_index('ix_grid_staff_identities_staff_id', 'grid_staff_identities', ['staff_id'], unique=False)
    op.create_table('grid_reports',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=True),
    sa.Column('on_spot', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['grid_staff.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id')
    )
    op.create_index('ix_grid_reports_staff_id', 'grid_reports', ['staff_id'], unique=False)
    op.create_table('assist_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('deadline_at', sa.DateTime(), nullable=True),
    sa.Column('working_days', sa.Boolean(), nullable=False),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.Column('waive_reason', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('waived_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ticket_id', 'department_id', name='uq_assist_ticket_department')
    )
    op.create_index('ix_assist_tasks_deadline_at', 'assist_tasks', ['deadline_at'], unique=False)
    op.create_index('ix_assist_tasks_department_id', 'assist_tasks', ['department_id'], unique=False)
    op.create_index('ix_assist_tasks_state', 'assist_tasks', ['state'], unique=False)
    op.create_index('ix_assist_tasks_ticket_id', 'assist_tasks', ['ticket_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_assist_tasks_ticket_id', table_name='assist_tasks')
    op.drop_index('ix_assist_tasks_state', table_name='assist_tasks')
    op.drop_index('ix_assist_tasks_department_id', table_name='assist_tasks')
    op.drop_index('ix_assist_tasks_deadline_at', table_name='assist_tasks')
    op.drop_table('assist_tasks')
    op.drop_index('ix_grid_reports_staff_id', table_name='grid_reports')
    op.drop_table('grid_reports')
    op.drop_index('ix_grid_staff_identities_staff_id', table_name='grid_staff_identities')
    op.drop_table('grid_staff_identities')
    op.drop_table('grid_staff_regions')
    op.drop_table('grid_staff')
