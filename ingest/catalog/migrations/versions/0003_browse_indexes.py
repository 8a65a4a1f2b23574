"""indexes for browsing: across libraries, a season's episodes, playlists by item and by share

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 23:10:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEXES = (
    ("media_items", ("type", "sort_title")),
    ("media_items", ("added_at",)),
    ("media_items", ("season_id",)),
    ("playlist_items", ("item_id",)),
    ("playlist_shares", ("user_id",)),
)


def _name(table: str, columns: tuple[str, ...]) -> str:
    return f"ix_{table}_{'_'.join(columns)}"


def upgrade() -> None:
    for table, columns in INDEXES:
        op.create_index(op.f(_name(table, columns)), table, list(columns), unique=False)


def downgrade() -> None:
    for table, columns in reversed(INDEXES):
        op.drop_index(op.f(_name(table, columns)), table_name=table)
