"""staff API tokens expire

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 13:05:00
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import models.base

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_token_expires_at', models.base.UTCDateTime(timezone=True), nullable=True))
    # Tokens issued before expiry existed get 90 days from now: a token without an expiry is refused.
    staff = sa.table('staff', sa.column('api_token_hash', sa.String), sa.column('api_token_expires_at', models.base.UTCDateTime(timezone=True)))
    op.execute(
        staff.update()
        .where(staff.c.api_token_hash.is_not(None))
        .values(api_token_expires_at=datetime.now(UTC) + timedelta(days=90))
    )


def downgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('api_token_expires_at')
