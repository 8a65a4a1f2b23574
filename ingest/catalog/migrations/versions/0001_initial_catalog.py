"""initial catalog: people, libraries, items, streams, keyframes, images, user data, playlists

Revision ID: 0001
Revises:
Create Date: 2026-11-24 20:12:22.130916
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the column types of this revision: a migration never imports live code.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)

_FTS_TABLES = ("media_items", "series")


def upgrade() -> None:
    op.create_table(
        "genres",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_genres")),
        sa.UniqueConstraint("name", name=op.f("uq_genres_name")),
    )
    op.create_table(
        "libraries",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("settings", JSON, nullable=False),
        sa.Column("last_scan_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "kind IN ('movies', 'shows', 'music', 'photos', 'mixed')",
            name=op.f("ck_libraries_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_libraries")),
        sa.UniqueConstraint("name", name=op.f("uq_libraries_name")),
    )
    op.create_table(
        "people",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
        sa.UniqueConstraint("name", name=op.f("uq_people_name")),
    )
    op.create_table(
        "users",
        sa.Column("id", ID, nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_verified", sa.Boolean(), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=True),
        sa.Column("provider", sa.String(length=512), nullable=False),
        sa.Column("subject", sa.String(length=512), nullable=True),
        sa.Column("password_hash", sa.String(length=512), nullable=True),
        sa.Column("roles", JSON, nullable=False),
        sa.Column("settings", JSON, nullable=False),
        sa.Column("max_parental_rating", sa.Integer(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("provider", "subject", name=op.f("uq_users_provider_subject")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "albums",
        sa.Column("id", ID, nullable=False),
        sa.Column("library_id", ID, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("artist", sa.Text(), nullable=False),
        sa.Column("sort_title", sa.Text(), nullable=False),
        sa.Column("search_title", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libraries.id"],
            name=op.f("fk_albums_library_id_libraries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_albums")),
        sa.UniqueConstraint(
            "library_id",
            "artist",
            "sort_title",
            name=op.f("uq_albums_library_id_artist_sort_title"),
        ),
    )
    op.create_table(
        "library_access",
        sa.Column("user_id", ID, nullable=False),
        sa.Column("library_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libraries.id"],
            name=op.f("fk_library_access_library_id_libraries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_library_access_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "library_id", name=op.f("pk_library_access")),
    )
    op.create_table(
        "media_sources",
        sa.Column("id", ID, nullable=False),
        sa.Column("library_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("bucket", sa.String(length=255), nullable=True),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("credentials_ref", sa.String(length=128), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "(kind = 'local' AND path IS NOT NULL) OR (kind = 's3' AND bucket IS NOT NULL)",
            name=op.f("ck_media_sources_location"),
        ),
        sa.CheckConstraint("kind IN ('local', 's3')", name=op.f("ck_media_sources_kind")),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libraries.id"],
            name=op.f("fk_media_sources_library_id_libraries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_sources")),
    )
    with op.batch_alter_table("media_sources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_media_sources_library_id"), ["library_id"], unique=False
        )

    op.create_table(
        "playlists",
        sa.Column("id", ID, nullable=False),
        sa.Column("owner_id", ID, nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_playlists_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playlists")),
    )
    with op.batch_alter_table("playlists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_playlists_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "scan_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("library_id", ID, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("stats", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libraries.id"],
            name=op.f("fk_scan_runs_library_id_libraries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_runs")),
    )
    with op.batch_alter_table("scan_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scan_runs_library_id_started_at"),
            ["library_id", "started_at"],
            unique=False,
        )

    op.create_table(
        "series",
        sa.Column("id", ID, nullable=False),
        sa.Column("library_id", ID, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("sort_title", sa.Text(), nullable=False),
        sa.Column("search_title", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libraries.id"],
            name=op.f("fk_series_library_id_libraries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series")),
        sa.UniqueConstraint(
            "library_id", "sort_title", name=op.f("uq_series_library_id_sort_title")
        ),
    )
    op.create_table(
        "sessions",
        sa.Column("token", sa.String(length=128), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("device_name", sa.String(length=256), nullable=True),
        sa.Column("client", sa.String(length=256), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_seen_at", TIMESTAMP, nullable=True),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "playlist_shares",
        sa.Column("playlist_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("can_edit", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["playlist_id"],
            ["playlists.id"],
            name=op.f("fk_playlist_shares_playlist_id_playlists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_playlist_shares_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("playlist_id", "user_id", name=op.f("pk_playlist_shares")),
    )
    op.create_table(
        "seasons",
        sa.Column("id", ID, nullable=False),
        sa.Column("series_id", ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_seasons_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seasons")),
        sa.UniqueConstraint("series_id", "number", name=op.f("uq_seasons_series_id_number")),
    )
    op.create_table(
        "media_items",
        sa.Column("id", ID, nullable=False),
        sa.Column("library_id", ID, nullable=False),
        sa.Column("source_id", ID, nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_reason", sa.Text(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=True),
        sa.Column("etag", sa.String(length=128), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("sort_title", sa.Text(), nullable=False),
        sa.Column("search_title", sa.Text(), nullable=False),
        sa.Column("original_title", sa.Text(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("overview", sa.Text(), nullable=True),
        sa.Column("official_rating", sa.String(length=32), nullable=True),
        sa.Column("parental_rating", sa.Integer(), nullable=True),
        sa.Column("community_rating", sa.Float(), nullable=True),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("container", sa.String(length=64), nullable=True),
        sa.Column("duration_us", sa.BigInteger(), nullable=True),
        sa.Column("bit_rate", sa.BigInteger(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("series_id", ID, nullable=True),
        sa.Column("season_id", ID, nullable=True),
        sa.Column("season_number", sa.Integer(), nullable=True),
        sa.Column("episode_number", sa.Integer(), nullable=True),
        sa.Column("episode_number_end", sa.Integer(), nullable=True),
        sa.Column("album_id", ID, nullable=True),
        sa.Column("artist", sa.Text(), nullable=True),
        sa.Column("track_number", sa.Integer(), nullable=True),
        sa.Column("disc_number", sa.Integer(), nullable=True),
        sa.Column("taken_at", TIMESTAMP, nullable=True),
        sa.Column("added_at", TIMESTAMP, nullable=False),
        sa.Column("probed_at", TIMESTAMP, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "type IN ('movie', 'episode', 'video', 'track', 'photo', 'unknown')",
            name=op.f("ck_media_items_type"),
        ),
        sa.ForeignKeyConstraint(
            ["album_id"],
            ["albums.id"],
            name=op.f("fk_media_items_album_id_albums"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libraries.id"],
            name=op.f("fk_media_items_library_id_libraries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["season_id"],
            ["seasons.id"],
            name=op.f("fk_media_items_season_id_seasons"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_media_items_series_id_series"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["media_sources.id"],
            name=op.f("fk_media_items_source_id_media_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_items")),
        sa.UniqueConstraint("source_id", "key", name=op.f("uq_media_items_source_id_key")),
    )
    with op.batch_alter_table("media_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_media_items_album_id_disc_number_track_number"),
            ["album_id", "disc_number", "track_number"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_media_items_content_hash"), ["content_hash"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_media_items_library_id_added_at"),
            ["library_id", "added_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_media_items_library_id_type_sort_title"),
            ["library_id", "type", "sort_title"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_media_items_library_id_year"), ["library_id", "year"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_media_items_series_id_season_number_episode_number"),
            ["series_id", "season_number", "episode_number"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_media_items_status"), ["status"], unique=False)

    op.create_table(
        "chapters",
        sa.Column("item_id", ID, nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("start_us", sa.BigInteger(), nullable=False),
        sa.Column("end_us", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["media_items.id"],
            name=op.f("fk_chapters_item_id_media_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "index", name=op.f("pk_chapters")),
    )
    op.create_table(
        "images",
        sa.Column("id", ID, nullable=False),
        sa.Column("item_id", ID, nullable=True),
        sa.Column("series_id", ID, nullable=True),
        sa.Column("album_id", ID, nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("store_key", sa.Text(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("blurhash", sa.String(length=128), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "kind IN ('poster', 'thumb', 'backdrop', 'cover', 'photo', 'logo')",
            name=op.f("ck_images_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["album_id"], ["albums.id"], name=op.f("fk_images_album_id_albums"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["media_items.id"],
            name=op.f("fk_images_item_id_media_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_images_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_images")),
        sa.UniqueConstraint("item_id", "kind", name=op.f("uq_images_item_id_kind")),
    )
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_images_album_id"), ["album_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_images_series_id"), ["series_id"], unique=False)

    op.create_table(
        "item_genres",
        sa.Column("item_id", ID, nullable=False),
        sa.Column("genre_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["genre_id"],
            ["genres.id"],
            name=op.f("fk_item_genres_genre_id_genres"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["media_items.id"],
            name=op.f("fk_item_genres_item_id_media_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "genre_id", name=op.f("pk_item_genres")),
    )
    with op.batch_alter_table("item_genres", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_genres_genre_id"), ["genre_id"], unique=False)

    op.create_table(
        "item_people",
        sa.Column("item_id", ID, nullable=False),
        sa.Column("person_id", ID, nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("character", sa.Text(), nullable=True),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["media_items.id"],
            name=op.f("fk_item_people_item_id_media_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_item_people_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "person_id", "role", name=op.f("pk_item_people")),
    )
    with op.batch_alter_table("item_people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_people_person_id"), ["person_id"], unique=False)

    op.create_table(
        "keyframes",
        sa.Column("item_id", ID, nullable=False),
        sa.Column("stream_index", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["media_items.id"],
            name=op.f("fk_keyframes_item_id_media_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "stream_index", name=op.f("pk_keyframes")),
    )
    op.create_table(
        "playlist_items",
        sa.Column("id", ID, nullable=False),
        sa.Column("playlist_id", ID, nullable=False),
        sa.Column("item_id", ID, nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["media_items.id"],
            name=op.f("fk_playlist_items_item_id_media_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["playlist_id"],
            ["playlists.id"],
            name=op.f("fk_playlist_items_playlist_id_playlists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playlist_items")),
        sa.UniqueConstraint(
            "playlist_id", "position", name=op.f("uq_playlist_items_playlist_id_position")
        ),
    )
    op.create_table(
        "streams",
        sa.Column("item_id", ID, nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("codec", sa.String(length=64), nullable=True),
        sa.Column("profile", sa.String(length=64), nullable=True),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("pix_fmt", sa.String(length=32), nullable=True),
        sa.Column("bit_depth", sa.Integer(), nullable=True),
        sa.Column("color_transfer", sa.String(length=32), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("fps_num", sa.Integer(), nullable=True),
        sa.Column("fps_den", sa.Integer(), nullable=True),
        sa.Column("time_base_num", sa.Integer(), nullable=True),
        sa.Column("time_base_den", sa.Integer(), nullable=True),
        sa.Column("bit_rate", sa.BigInteger(), nullable=True),
        sa.Column("channels", sa.Integer(), nullable=True),
        sa.Column("channel_layout", sa.String(length=64), nullable=True),
        sa.Column("sample_rate", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("is_forced", sa.Boolean(), nullable=False),
        sa.Column("is_attached_pic", sa.Boolean(), nullable=False),
        sa.Column("external_key", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('video', 'audio', 'subtitle', 'attachment', 'data')",
            name=op.f("ck_streams_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["media_items.id"],
            name=op.f("fk_streams_item_id_media_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "index", name=op.f("pk_streams")),
    )
    op.create_table(
        "user_data",
        sa.Column("user_id", ID, nullable=False),
        sa.Column("item_id", ID, nullable=False),
        sa.Column("position_us", sa.BigInteger(), nullable=False),
        sa.Column("played", sa.Boolean(), nullable=False),
        sa.Column("play_count", sa.Integer(), nullable=False),
        sa.Column("last_played_at", TIMESTAMP, nullable=True),
        sa.Column("is_favorite", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["media_items.id"],
            name=op.f("fk_user_data_item_id_media_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_data_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "item_id", name=op.f("pk_user_data")),
    )
    with op.batch_alter_table("user_data", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user_data_user_id_last_played_at"),
            ["user_id", "last_played_at"],
            unique=False,
        )

    _create_search_indexes()


def _create_search_indexes() -> None:
    """Title search: FTS5 with the trigram tokenizer on SQLite, pg_trgm on PostgreSQL.

    Both index ``search_title`` (folded by ``ingest.text.fold``) so substring and typo-tolerant
    matching work the same way on both databases.
    """
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for table in _FTS_TABLES:
            op.execute(
                f"CREATE INDEX ix_{table}_search_trgm ON {table} "
                "USING gin (search_title gin_trgm_ops)"
            )
        return
    for table in _FTS_TABLES:
        fts = f"{table}_fts"
        op.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5(search_title, content='{table}', "
            "content_rowid='id', tokenize='trigram')"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts}(rowid, search_title) VALUES (new.id, new.search_title); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, search_title) "
            "VALUES ('delete', old.id, old.search_title); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_au AFTER UPDATE OF search_title ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, search_title) "
            "VALUES ('delete', old.id, old.search_title); "
            f"INSERT INTO {fts}(rowid, search_title) VALUES (new.id, new.search_title); END"
        )


def _drop_search_indexes() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _FTS_TABLES:
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_search_trgm")
        return
    for table in _FTS_TABLES:
        for suffix in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{suffix}")
        op.execute(f"DROP TABLE IF EXISTS {table}_fts")


def downgrade() -> None:
    _drop_search_indexes()
    with op.batch_alter_table("user_data", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_data_user_id_last_played_at"))

    op.drop_table("user_data")
    op.drop_table("streams")
    op.drop_table("playlist_items")
    op.drop_table("keyframes")
    with op.batch_alter_table("item_people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_people_person_id"))

    op.drop_table("item_people")
    with op.batch_alter_table("item_genres", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_genres_genre_id"))

    op.drop_table("item_genres")
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_images_series_id"))
        batch_op.drop_index(batch_op.f("ix_images_album_id"))

    op.drop_table("images")
    op.drop_table("chapters")
    with op.batch_alter_table("media_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_items_status"))
        batch_op.drop_index(batch_op.f("ix_media_items_series_id_season_number_episode_number"))
        batch_op.drop_index(batch_op.f("ix_media_items_library_id_year"))
        batch_op.drop_index(batch_op.f("ix_media_items_library_id_type_sort_title"))
        batch_op.drop_index(batch_op.f("ix_media_items_library_id_added_at"))
        batch_op.drop_index(batch_op.f("ix_media_items_content_hash"))
        batch_op.drop_index(batch_op.f("ix_media_items_album_id_disc_number_track_number"))

    op.drop_table("media_items")
    op.drop_table("seasons")
    op.drop_table("playlist_shares")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_user_id"))
        batch_op.drop_index(batch_op.f("ix_sessions_expires_at"))

    op.drop_table("sessions")
    op.drop_table("series")
    with op.batch_alter_table("scan_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scan_runs_library_id_started_at"))

    op.drop_table("scan_runs")
    with op.batch_alter_table("playlists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_playlists_owner_id"))

    op.drop_table("playlists")
    with op.batch_alter_table("media_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_sources_library_id"))

    op.drop_table("media_sources")
    op.drop_table("library_access")
    op.drop_table("albums")
    op.drop_table("users")
    op.drop_table("people")
    op.drop_table("libraries")
    op.drop_table("genres")
