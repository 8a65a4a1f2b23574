"""The Reelbox the end-to-end tests drive: a generated library (films with genres from .nfo
sidecars, a show with two episodes), scanned with its images rendered, and the whole app as
``reelbox serve`` composes it (``web.server.build_serving``): the REST API, playback, events, the
OIDC login routes with the test provider, and the built web client (``client/dist``) at ``/``.

One title, ``PLAYABLE``, is long enough to play, seek and resume, 640x480 so that the master
playlist offers the original and a 360p transcode, with a subtitle track for captions; the
others are two-second clips that only need a poster.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx

from ingest import demo
from ingest.artwork import Artwork
from ingest.catalog import items as item_queries
from ingest.catalog import libraries as library_queries
from ingest.catalog.database import Database
from ingest.imagestore import LocalImageStore
from ingest.models import LibraryKind
from ingest.opener import SourceOpener, SourcePool
from ingest.scanner import Scanner
from ingest.state import open_state
from tests.fixtures.api import on_loopback
from tests.fixtures.auth import PASSWORD, Clock, add_user, make_auth
from tests.fixtures.oidc import OidcTestProvider
from web.auth.oidc import OidcClient, OidcProvider
from web.auth.oidc_routes import oidc_routes
from web.auth.routes import external_login
from web.server import build_serving
from web.settings import StreamSettings

CLIENT_DIST = Path(__file__).resolve().parents[2] / "client" / "dist"
ADMIN = "admin"
OIDC_DISPLAY_NAME = "Test IdP"


@dataclass(frozen=True)
class Title:
    folder: str  # the library folder: "Films" or "Shows"
    path: str  # inside it
    title: str
    genres: tuple[str, ...] = ()
    seconds: float = 2
    size: tuple[int, int] = (320, 240)
    subtitles: bool = False

    @property
    def card(self) -> str:
        """The first line of its card: an episode's series, else the title."""
        return self.path.split("/")[0] if self.folder == "Shows" else self.title


PLAYABLE = Title(
    "Films",
    "Night Signal (2021)/Night Signal (2021).mp4",
    "Night Signal",
    ("Drama", "Science Fiction"),
    seconds=40,
    size=(640, 480),
    subtitles=True,
)
TITLES = (
    PLAYABLE,
    Title(
        "Films", "Moving Grid (2022)/Moving Grid (2022).mp4", "Moving Grid", ("Drama", "Mystery")
    ),
    Title("Films", "Colour Bars (2019)/Colour Bars (2019).mp4", "Colour Bars", ("Comedy",)),
    Title("Films", "Quiet Tone (2018)/Quiet Tone (2018).mp4", "Quiet Tone", ("Documentary",)),
    Title("Shows", "Test Pattern Show/Season 01/Test Pattern Show - S01E01.mp4", "Pilot"),
    Title("Shows", "Test Pattern Show/Season 01/Test Pattern Show - S01E02.mp4", "The Second One"),
)
LIBRARIES = {"Films": LibraryKind.MOVIES, "Shows": LibraryKind.SHOWS}


def write_library(root: Path) -> Path:
    """The library folders under ``root`` (``Films``, ``Shows``), each file with its .nfo."""
    for title in TITLES:
        path = root / title.folder / title.path
        path.parent.mkdir(parents=True, exist_ok=True)
        demo.synthesize_clip(
            path,
            seconds=title.seconds,
            width=title.size[0],
            height=title.size[1],
            fps=25,
            gop=50,
            subtitles=title.subtitles,
            tags={"title": title.title},
            preset="ultrafast",
        )
        tag = "episodedetails" if title.folder == "Shows" else "movie"
        genres = "".join(f"<genre>{genre}</genre>" for genre in title.genres)
        path.with_suffix(".nfo").write_text(
            f"<{tag}><title>{title.title}</title>{genres}</{tag}>\n", encoding="utf-8"
        )
    return root


@dataclass(frozen=True)
class Reelbox:
    url: str  # where the browser opens it
    database: Database
    items: dict[str, int]  # title -> item id
    username: str = ADMIN
    password: str = PASSWORD

    async def user_data(self, title: str) -> dict[str, object]:
        """The signed-in user's data of ``title`` as the API answers it (HTTP Basic)."""
        async with httpx.AsyncClient(base_url=self.url, auth=(self.username, self.password)) as c:
            response = await c.get(f"/api/items/{self.items[title]}")
        response.raise_for_status()
        user: dict[str, object] = response.json()["item"]["user"]
        return user


async def _scan(database: Database, media: Path, images: Path) -> dict[str, int]:
    opener = SourceOpener({})
    scanner = Scanner(database, opener, concurrency=2)
    artwork = Artwork(database, opener, LocalImageStore(images))
    for folder, kind in LIBRARIES.items():
        async with database.begin() as conn:
            library = await library_queries.create_library(conn, folder, kind)
            await library_queries.add_local_source(conn, library.id, str(media / folder))
        stats = await scanner.scan(library.id)
        assert stats.failed == 0 and not stats.source_errors, stats.as_dict()
        await artwork.render_library(library.id)
    async with database.connect() as conn:
        found = {item.title: item.id for item in await item_queries.list_items(conn)}
    assert set(found) == {t.title for t in TITLES}, found
    return found


@asynccontextmanager
async def serve_reelbox(
    database: Database,
    media: Path,
    images: Path,
    oidc: OidcTestProvider,
) -> AsyncIterator[Reelbox]:
    """Reelbox over ``media`` on loopback, with an admin who sees every library."""
    items = await _scan(database, media, images)
    node = "e2e-node"
    async with (
        open_state(None, node_id=node) as state,
        httpx.AsyncClient(timeout=10) as oidc_http,
        SourcePool({}) as sources,
    ):
        auth = make_auth(database, clock=Clock())  # in-process sessions, cheap password hashes
        await add_user(database, auth, ADMIN, role="admin")
        provider = OidcProvider.generic(
            "test",
            oidc.issuer,
            oidc.client_id,
            oidc.client_secret,
            display_name=OIDC_DISPLAY_NAME,
        )
        client = OidcClient([provider], oidc_http, b"e2e-server-secret-0123456789abcdef")
        opener = SourceOpener({})
        store = LocalImageStore(images)
        serving = build_serving(
            version="e2e",
            database=database,
            scanner=Scanner(database, opener, concurrency=2),
            artwork=Artwork(database, opener, store),
            images=store,
            sources=sources,
            state=state,
            auth=auth,
            node_id=node,
            blueprints=(oidc_routes(client, external_login(auth)),),
            stream=StreamSettings(encoders=1),
            webapp_dir=CLIENT_DIST,
        )
        async with anyio.create_task_group() as tg:
            await tg.start(serving.run)
            try:
                async with on_loopback(serving.app) as url:
                    yield Reelbox(url, database, items)
            finally:
                tg.cancel_scope.cancel()
