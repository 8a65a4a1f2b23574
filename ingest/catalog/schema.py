"""The catalog schema as SQLAlchemy Core tables, one metadata for SQLite and PostgreSQL.

Migrations under ``migrations/versions`` are the source of truth for existing databases; this module
describes the head revision and is what queries are written against. Conventions:

- Times of day are timezone-aware UTC (``UTCDateTime``); media times are integer microseconds
  (``*_us``) or ticks with their time base, never floats.
- ``search_title`` holds the title folded for search (lower case, accents stripped, punctuation to
  spaces); SQLite indexes it with FTS5 (trigram tokenizer), PostgreSQL with pg_trgm. Both indexes
  are created by the migration, outside this metadata.
- Statuses of ``media_items.status``: ``ok`` and the ``ProbeError.status`` values of
  ``ingest.errors`` (``empty``, ``not_media``, ``corrupt``, ``unsupported``, ``unreadable``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Identifiers: 64-bit on PostgreSQL; SQLite's INTEGER PRIMARY KEY is the rowid (already 64-bit).
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes on both dialects (SQLite stores naive text and forgets the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the catalog; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _created() -> sa.Column[datetime]:
    return sa.Column("created_at", UTCDateTime(), nullable=False, default=_now)


def _updated() -> sa.Column[datetime]:
    return sa.Column("updated_at", UTCDateTime(), nullable=False, default=_now, onupdate=_now)


# --- people and access --------------------------------------------------------------------------

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("username", sa.String(128), nullable=False, unique=True),
    sa.Column("email", sa.String(320), nullable=True, unique=True),
    sa.Column("email_verified", sa.Boolean, nullable=False, default=False),
    sa.Column("display_name", sa.String(256), nullable=True),
    sa.Column("provider", sa.String(512), nullable=False, default="local"),
    sa.Column("subject", sa.String(512), nullable=True),
    sa.Column("password_hash", sa.String(512), nullable=True),
    sa.Column("roles", Json, nullable=False, default=list),
    sa.Column("settings", Json, nullable=False, default=dict),
    sa.Column("max_parental_rating", sa.Integer, nullable=True),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    _created(),
    _updated(),
    sa.UniqueConstraint("provider", "subject"),
)

sessions = sa.Table(
    "sessions",
    metadata,
    # The token is never stored: this is its SHA-256, hex.
    sa.Column("token", sa.String(128), primary_key=True),
    sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("device_name", sa.String(256), nullable=True),
    sa.Column("client", sa.String(256), nullable=True),
    _created(),
    sa.Column("last_seen_at", UTCDateTime(), nullable=True),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Index(None, "user_id"),
    sa.Index(None, "expires_at"),
)

# --- authentication ------------------------------------------------------------------------------

# A login session's refresh tokens: each refresh marks the presented token rotated and adds the
# next one, so presenting a rotated token again is reuse (the session is then revoked).
refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    # SHA-256 hex of the token; the token itself is never stored.
    sa.Column("token", sa.String(128), primary_key=True),
    sa.Column(
        "session_token",
        sa.String(128),
        sa.ForeignKey("sessions.token", ondelete="CASCADE"),
        nullable=False,
    ),
    _created(),
    sa.Column("rotated_at", UTCDateTime(), nullable=True),
    sa.Index(None, "session_token"),
)

# The keys that sign access and stream tokens, shared by every node. A key signs while it is the
# newest unretired one and verifies until ``retired_at``.
signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.String(64), primary_key=True),
    sa.Column("algorithm", sa.String(16), nullable=False),
    sa.Column("private_key", sa.Text, nullable=False),  # PKCS#8 PEM
    _created(),
    sa.Column("retired_at", UTCDateTime(), nullable=True),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("hash", sa.String(128), nullable=False, unique=True),  # SHA-256 hex of the key
    sa.Column("prefix", sa.String(16), nullable=False),  # shown to tell keys apart
    _created(),
    sa.Column("last_used_at", UTCDateTime(), nullable=True),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    sa.Index(None, "user_id"),
)

invites = sa.Table(
    "invites",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("code_hash", sa.String(128), nullable=False, unique=True),  # SHA-256 hex
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("library_ids", Json, nullable=True),  # null: every library
    sa.Column("max_parental_rating", sa.Integer, nullable=True),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", Id, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    _created(),
    sa.Column("used_by", Id, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("used_at", UTCDateTime(), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'member', 'child')", name="role"),
)

# --- libraries and their sources ----------------------------------------------------------------

libraries = sa.Table(
    "libraries",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("settings", Json, nullable=False, default=dict),
    sa.Column("last_scan_at", UTCDateTime(), nullable=True),
    _created(),
    _updated(),
    sa.CheckConstraint("kind IN ('movies', 'shows', 'music', 'photos', 'mixed')", name="kind"),
)

media_sources = sa.Table(
    "media_sources",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("library_id", Id, sa.ForeignKey("libraries.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("path", sa.Text, nullable=True),
    sa.Column("bucket", sa.String(255), nullable=True),
    sa.Column("prefix", sa.Text, nullable=False, default=""),
    # A name in the settings' s3_credentials table, never a secret itself.
    sa.Column("credentials_ref", sa.String(128), nullable=True),
    _created(),
    sa.CheckConstraint("kind IN ('local', 's3')", name="kind"),
    sa.CheckConstraint(
        "(kind = 'local' AND path IS NOT NULL) OR (kind = 's3' AND bucket IS NOT NULL)",
        name="location",
    ),
    sa.Index(None, "library_id"),
)

library_access = sa.Table(
    "library_access",
    metadata,
    sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "library_id", Id, sa.ForeignKey("libraries.id", ondelete="CASCADE"), primary_key=True
    ),
)

scan_runs = sa.Table(
    "scan_runs",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("library_id", Id, sa.ForeignKey("libraries.id", ondelete="CASCADE"), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False, default=_now),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Column("state", sa.String(16), nullable=False, default="running"),
    sa.Column("stats", Json, nullable=False, default=dict),
    sa.Index(None, "library_id", "started_at"),
)

# --- groupings: series/seasons, albums ----------------------------------------------------------

series = sa.Table(
    "series",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("library_id", Id, sa.ForeignKey("libraries.id", ondelete="CASCADE"), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("sort_title", sa.Text, nullable=False),
    sa.Column("search_title", sa.Text, nullable=False),
    sa.Column("year", sa.Integer, nullable=True),
    sa.Column("metadata", Json, nullable=False, default=dict),
    _created(),
    _updated(),
    sa.UniqueConstraint("library_id", "sort_title"),
)

seasons = sa.Table(
    "seasons",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("series_id", Id, sa.ForeignKey("series.id", ondelete="CASCADE"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("title", sa.Text, nullable=True),
    sa.UniqueConstraint("series_id", "number"),
)

albums = sa.Table(
    "albums",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("library_id", Id, sa.ForeignKey("libraries.id", ondelete="CASCADE"), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("artist", sa.Text, nullable=False, default=""),
    sa.Column("sort_title", sa.Text, nullable=False),
    sa.Column("search_title", sa.Text, nullable=False),
    sa.Column("year", sa.Integer, nullable=True),
    _created(),
    sa.UniqueConstraint("library_id", "artist", "sort_title"),
)

# --- media items --------------------------------------------------------------------------------

media_items = sa.Table(
    "media_items",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("library_id", Id, sa.ForeignKey("libraries.id", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "source_id", Id, sa.ForeignKey("media_sources.id", ondelete="CASCADE"), nullable=False
    ),
    # The file: a path relative to a local source's root, or the S3 object key.
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error_reason", sa.Text, nullable=True),
    # Fingerprint for change detection: size + mtime (local) or size + ETag (S3).
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime_ns", sa.BigInteger, nullable=True),
    sa.Column("etag", sa.String(128), nullable=True),
    # A hash of the size, first and last 64 KiB: recognises a moved or renamed file.
    sa.Column("content_hash", sa.String(64), nullable=True),
    # Changes whenever the bytes may have: keys cached segments and images.
    sa.Column("version", sa.String(32), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("sort_title", sa.Text, nullable=False),
    sa.Column("search_title", sa.Text, nullable=False),
    sa.Column("original_title", sa.Text, nullable=True),
    sa.Column("year", sa.Integer, nullable=True),
    sa.Column("overview", sa.Text, nullable=True),
    sa.Column("official_rating", sa.String(32), nullable=True),
    sa.Column("parental_rating", sa.Integer, nullable=True),
    sa.Column("community_rating", sa.Float, nullable=True),
    sa.Column("metadata", Json, nullable=False, default=dict),
    sa.Column("container", sa.String(64), nullable=True),
    sa.Column("duration_us", sa.BigInteger, nullable=True),
    sa.Column("bit_rate", sa.BigInteger, nullable=True),
    sa.Column("width", sa.Integer, nullable=True),
    sa.Column("height", sa.Integer, nullable=True),
    sa.Column("series_id", Id, sa.ForeignKey("series.id", ondelete="SET NULL"), nullable=True),
    sa.Column("season_id", Id, sa.ForeignKey("seasons.id", ondelete="SET NULL"), nullable=True),
    sa.Column("season_number", sa.Integer, nullable=True),
    sa.Column("episode_number", sa.Integer, nullable=True),
    sa.Column("episode_number_end", sa.Integer, nullable=True),
    sa.Column("album_id", Id, sa.ForeignKey("albums.id", ondelete="SET NULL"), nullable=True),
    sa.Column("artist", sa.Text, nullable=True),
    sa.Column("track_number", sa.Integer, nullable=True),
    sa.Column("disc_number", sa.Integer, nullable=True),
    sa.Column("taken_at", UTCDateTime(), nullable=True),
    sa.Column("added_at", UTCDateTime(), nullable=False, default=_now),
    sa.Column("probed_at", UTCDateTime(), nullable=True),
    _updated(),
    sa.UniqueConstraint("source_id", "key"),
    sa.CheckConstraint(
        "type IN ('movie', 'episode', 'video', 'track', 'photo', 'unknown')", name="type"
    ),
    sa.Index(None, "library_id", "type", "sort_title"),
    sa.Index(None, "library_id", "added_at"),
    sa.Index(None, "library_id", "year"),
    sa.Index(None, "series_id", "season_number", "episode_number"),
    sa.Index(None, "album_id", "disc_number", "track_number"),
    sa.Index(None, "content_hash"),
    sa.Index(None, "status"),
    # Browsing across libraries (home rows, "all films") and a season's episodes.
    sa.Index(None, "type", "sort_title"),
    sa.Index(None, "added_at"),
    sa.Index(None, "season_id"),
)

streams = sa.Table(
    "streams",
    metadata,
    sa.Column("item_id", Id, sa.ForeignKey("media_items.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("index", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("codec", sa.String(64), nullable=True),
    sa.Column("profile", sa.String(64), nullable=True),
    sa.Column("level", sa.Integer, nullable=True),
    sa.Column("pix_fmt", sa.String(32), nullable=True),
    sa.Column("bit_depth", sa.Integer, nullable=True),
    sa.Column("color_transfer", sa.String(32), nullable=True),
    sa.Column("width", sa.Integer, nullable=True),
    sa.Column("height", sa.Integer, nullable=True),
    sa.Column("fps_num", sa.Integer, nullable=True),
    sa.Column("fps_den", sa.Integer, nullable=True),
    sa.Column("time_base_num", sa.Integer, nullable=True),
    sa.Column("time_base_den", sa.Integer, nullable=True),
    sa.Column("bit_rate", sa.BigInteger, nullable=True),
    sa.Column("channels", sa.Integer, nullable=True),
    sa.Column("channel_layout", sa.String(64), nullable=True),
    sa.Column("sample_rate", sa.Integer, nullable=True),
    sa.Column("language", sa.String(16), nullable=True),
    sa.Column("title", sa.Text, nullable=True),
    sa.Column("is_default", sa.Boolean, nullable=False, default=False),
    sa.Column("is_forced", sa.Boolean, nullable=False, default=False),
    sa.Column("is_attached_pic", sa.Boolean, nullable=False, default=False),
    # A sidecar subtitle file (``Movie.en.srt``) instead of a stream inside the container.
    sa.Column("external_key", sa.Text, nullable=True),
    sa.CheckConstraint("kind IN ('video', 'audio', 'subtitle', 'attachment', 'data')", name="kind"),
)

keyframes = sa.Table(
    "keyframes",
    metadata,
    sa.Column("item_id", Id, sa.ForeignKey("media_items.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("stream_index", sa.Integer, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    # engine.segmenter.keyframes.KeyframeIndex.pack()
    sa.Column("data", sa.LargeBinary, nullable=False),
)

chapters = sa.Table(
    "chapters",
    metadata,
    sa.Column("item_id", Id, sa.ForeignKey("media_items.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("index", sa.Integer, primary_key=True),
    sa.Column("start_us", sa.BigInteger, nullable=False),
    sa.Column("end_us", sa.BigInteger, nullable=False),
    sa.Column("title", sa.Text, nullable=True),
)

images = sa.Table(
    "images",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("item_id", Id, sa.ForeignKey("media_items.id", ondelete="CASCADE"), nullable=True),
    sa.Column("series_id", Id, sa.ForeignKey("series.id", ondelete="CASCADE"), nullable=True),
    sa.Column("album_id", Id, sa.ForeignKey("albums.id", ondelete="CASCADE"), nullable=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("store_key", sa.Text, nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("blurhash", sa.String(128), nullable=True),
    _created(),
    sa.CheckConstraint(
        "kind IN ('poster', 'thumb', 'backdrop', 'cover', 'photo', 'logo')", name="kind"
    ),
    sa.UniqueConstraint("item_id", "kind"),
    sa.Index(None, "series_id"),
    sa.Index(None, "album_id"),
)

genres = sa.Table(
    "genres",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
)

item_genres = sa.Table(
    "item_genres",
    metadata,
    sa.Column("item_id", Id, sa.ForeignKey("media_items.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("genre_id", Id, sa.ForeignKey("genres.id", ondelete="CASCADE"), primary_key=True),
    sa.Index(None, "genre_id"),
)

people = sa.Table(
    "people",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(256), nullable=False, unique=True),
)

item_people = sa.Table(
    "item_people",
    metadata,
    sa.Column("item_id", Id, sa.ForeignKey("media_items.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("person_id", Id, sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role", sa.String(32), primary_key=True),
    sa.Column("character", sa.Text, nullable=True),
    sa.Column("ordinal", sa.Integer, nullable=False, default=0),
    sa.Index(None, "person_id"),
)

# --- per-user state -----------------------------------------------------------------------------

user_data = sa.Table(
    "user_data",
    metadata,
    sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("item_id", Id, sa.ForeignKey("media_items.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("position_us", sa.BigInteger, nullable=False, default=0),
    sa.Column("played", sa.Boolean, nullable=False, default=False),
    sa.Column("play_count", sa.Integer, nullable=False, default=0),
    sa.Column("last_played_at", UTCDateTime(), nullable=True),
    sa.Column("is_favorite", sa.Boolean, nullable=False, default=False),
    _updated(),
    sa.Index(None, "user_id", "last_played_at"),
)

playlists = sa.Table(
    "playlists",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("owner_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("is_public", sa.Boolean, nullable=False, default=False),
    _created(),
    _updated(),
    sa.Index(None, "owner_id"),
)

playlist_items = sa.Table(
    "playlist_items",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("playlist_id", Id, sa.ForeignKey("playlists.id", ondelete="CASCADE"), nullable=False),
    sa.Column("item_id", Id, sa.ForeignKey("media_items.id", ondelete="CASCADE"), nullable=False),
    # Sparse ordering keys (gaps of 1024) so a move rewrites one row, not the list.
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("playlist_id", "position"),
    sa.Index(None, "item_id"),  # deleting an item finds its playlist entries
)

playlist_shares = sa.Table(
    "playlist_shares",
    metadata,
    sa.Column(
        "playlist_id", Id, sa.ForeignKey("playlists.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("user_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("can_edit", sa.Boolean, nullable=False, default=False),
    sa.Index(None, "user_id"),  # the playlists shared with a user
)
