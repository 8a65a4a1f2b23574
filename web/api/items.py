"""Browsing: item grids, item details, series, seasons, albums, search, facets and the home rows.

    GET /api/items                  filters, sort, cursor or offset pages (``ItemsQuery``)
    GET /api/items/<id>             one item: streams, chapters, images, genres, people, user data
    GET /api/series/<id>            a series and its seasons
    GET /api/seasons/<id>           a season and its episodes
    GET /api/albums/<id>            an album and its tracks
    GET /api/search?q=              typo- and accent-tolerant title search, best first
    GET /api/genres, /api/years     facets with counts
    GET /api/home                   continue watching, next up, recently added

Everything is seen through the asking user's ``Viewer``: what they may not see is absent from
lists and 404 on its own. Grids, details, search and facets go through the metadata cache
(``web.api.cache``) with the user's own data laid over them fresh; every answer has an ETag.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from quart import Blueprint, Response
from quart_schema import document_response, validate_querystring

from ingest.catalog import browse
from ingest.catalog.browse import ItemQuery, Sort, Viewer
from ingest.catalog.userdata import list_user_data
from web.api.cache import ALL, conditional, json_answer, library_tag
from web.api.context import Api, Invalid, Missing, current_viewer
from web.api.openapi import etagged
from web.api.records import detail_out, image_out, image_url, items_out, user_state
from web.api.schemas import (
    AlbumDetail,
    FacetQuery,
    Genre,
    GenreList,
    Home,
    HomeQuery,
    Item,
    ItemDetail,
    ItemList,
    ItemPage,
    ItemsQuery,
    Out,
    SearchQuery,
    Season,
    SeasonDetail,
    SeriesDetail,
    YearCount,
    YearList,
)
from web.auth.principal import require_login


def item_query(q: ItemsQuery) -> ItemQuery:
    if q.cursor is not None and q.offset:
        raise Invalid("ask for a page by cursor or by offset, not both", field="offset")
    return ItemQuery(
        library_id=q.library_id,
        types=frozenset(q.type or ()),
        genre_ids=frozenset(q.genre or ()),
        year_min=q.year if q.year is not None else q.year_min,
        year_max=q.year if q.year is not None else q.year_max,
        unwatched=q.unwatched,
        favorite=q.favorite,
        series_id=q.series_id,
        season_id=q.season_id,
        album_id=q.album_id,
        search=q.search,
        sort=Sort(q.sort),
        descending=q.order == "desc",
        limit=q.limit,
        cursor=q.cursor,
        offset=q.offset,
        with_total=q.total,
    )


def facet_query(q: FacetQuery) -> ItemQuery:
    return ItemQuery(library_id=q.library_id, types=frozenset(q.type or ()))


def item_routes(api: Api) -> Blueprint:
    routes = Blueprint("items", __name__)

    async def overlay(viewer: Viewer, items: list[Item]) -> list[Item]:
        """``items`` with the viewer's own data as it is now."""
        if not items:
            return items
        async with api.database.connect() as conn:
            found = await list_user_data(conn, viewer.user_id, [i.id for i in items])
        return [i.model_copy(update={"user": user_state(found.get(i.id))}) for i in items]

    @routes.get("/api/items")
    @require_login
    @validate_querystring(ItemsQuery)
    @document_response(ItemPage)
    @etagged
    async def list_items(query_args: ItemsQuery) -> Response:
        """Browse items: filter, sort and page through what you may see."""
        viewer = current_viewer()
        query = item_query(query_args)

        async def make() -> tuple[bytes, tuple[str, ...]]:
            async with api.database.connect() as conn:
                page = await browse.browse_items(conn, viewer, query)
            answer = ItemPage(
                items=items_out(page.items), next_cursor=page.next_cursor, total=page.total
            )
            return answer.model_dump_json().encode(), (library_tag(query.library_id),)

        if query.unwatched or query.favorite:  # they depend on the user's data: not cached
            return conditional((await make())[0])
        key = api.cache.key("items", viewer, query_args.model_dump(mode="json"))
        body, fresh = await api.cache.fetch(key, make)
        if fresh:
            return conditional(body)
        page = ItemPage.model_validate_json(body)
        page = page.model_copy(update={"items": await overlay(viewer, page.items)})
        return json_answer(page)

    @routes.get("/api/items/<id:item_id>")
    @require_login
    @document_response(ItemDetail)
    @etagged
    async def get_item(item_id: int) -> Response:
        """One item: its streams, chapters, images, genres, people and your data."""
        viewer = current_viewer()

        async def make() -> tuple[bytes, tuple[str, ...]]:
            async with api.database.connect() as conn:
                detail = await browse.item_detail(conn, viewer, item_id)
            if detail is None:
                raise Missing(f"no item {item_id}")
            body = detail_out(detail).model_dump_json().encode()
            return body, (library_tag(detail.item.library_id),)

        key = api.cache.key("item", viewer, item_id)
        body, fresh = await api.cache.fetch(key, make)
        if fresh:
            return conditional(body)
        answer = ItemDetail.model_validate_json(body)
        [item] = await overlay(viewer, [answer.item])
        return json_answer(answer.model_copy(update={"item": item}))

    @routes.get("/api/series/<id:series_id>")
    @require_login
    @document_response(SeriesDetail)
    @etagged
    async def get_series(series_id: int) -> Response:
        """A series and the seasons you may see, with your unplayed counts."""
        async with api.database.connect() as conn:
            found = await browse.series_detail(conn, current_viewer(), series_id)
        if found is None:
            raise Missing(f"no series {series_id}")
        return json_answer(
            SeriesDetail(
                id=found.id,
                library_id=found.library_id,
                title=found.title,
                year=found.year,
                images=[image_out(i, image_url("series", series_id, i.kind)) for i in found.images],
                seasons=[
                    Season(
                        id=s.id,
                        number=s.number,
                        title=s.title,
                        episode_count=s.episode_count,
                        unplayed_count=s.unplayed_count,
                    )
                    for s in found.seasons
                ],
            )
        )

    @routes.get("/api/seasons/<id:season_id>")
    @require_login
    @document_response(SeasonDetail)
    @etagged
    async def get_season(season_id: int) -> Response:
        """A season and its episodes, in order."""
        async with api.database.connect() as conn:
            found = await browse.season_detail(conn, current_viewer(), season_id)
        if found is None:
            raise Missing(f"no season {season_id}")
        return json_answer(
            SeasonDetail(
                id=found.id,
                series_id=found.series_id,
                series_title=found.series_title,
                number=found.number,
                title=found.title,
                episodes=items_out(found.episodes),
            )
        )

    @routes.get("/api/albums/<id:album_id>")
    @require_login
    @document_response(AlbumDetail)
    @etagged
    async def get_album(album_id: int) -> Response:
        """An album and its tracks, in disc and track order."""
        async with api.database.connect() as conn:
            found = await browse.album_detail(conn, current_viewer(), album_id)
        if found is None:
            raise Missing(f"no album {album_id}")
        return json_answer(
            AlbumDetail(
                id=found.id,
                library_id=found.library_id,
                title=found.title,
                artist=found.artist,
                year=found.year,
                images=[image_out(i, image_url("albums", album_id, i.kind)) for i in found.images],
                tracks=items_out(found.tracks),
            )
        )

    @routes.get("/api/search")
    @require_login
    @validate_querystring(SearchQuery)
    @document_response(ItemList)
    @etagged
    async def search(query_args: SearchQuery) -> Response:
        """Search titles: accents, case and small typos forgiven; best matches first."""
        viewer = current_viewer()

        async def make() -> tuple[bytes, tuple[str, ...]]:
            async with api.database.connect() as conn:
                found = await browse.search_items(conn, viewer, query_args.q, query_args.limit)
            return ItemList(items=items_out(found)).model_dump_json().encode(), (ALL,)

        key = api.cache.key("search", viewer, query_args.q, query_args.limit)
        body, fresh = await api.cache.fetch(key, make)
        if fresh:
            return conditional(body)
        answer = ItemList.model_validate_json(body)
        return json_answer(ItemList(items=await overlay(viewer, answer.items)))

    async def facet(kind: str, q: FacetQuery, answer: Callable[[Any], Awaitable[Out]]) -> Response:
        """A cached facet: ``answer`` makes its model from a connection."""

        async def make() -> tuple[bytes, tuple[str, ...]]:
            async with api.database.connect() as conn:
                made = await answer(conn)
            return made.model_dump_json().encode(), (library_tag(q.library_id),)

        key = api.cache.key(kind, current_viewer(), q.model_dump(mode="json"))
        return conditional((await api.cache.fetch(key, make))[0])

    @routes.get("/api/genres")
    @require_login
    @validate_querystring(FacetQuery)
    @document_response(GenreList)
    @etagged
    async def genres(query_args: FacetQuery) -> Response:
        """The genres of what you may see, with item counts (filter by library and type)."""

        async def answer(conn: Any) -> GenreList:
            found = await browse.list_genres(conn, current_viewer(), facet_query(query_args))
            return GenreList(genres=[Genre(id=g.id, name=g.name, count=g.count) for g in found])

        return await facet("genres", query_args, answer)

    @routes.get("/api/years")
    @require_login
    @validate_querystring(FacetQuery)
    @document_response(YearList)
    @etagged
    async def years(query_args: FacetQuery) -> Response:
        """The years of what you may see, with item counts, newest first."""

        async def answer(conn: Any) -> YearList:
            found = await browse.list_years(conn, current_viewer(), facet_query(query_args))
            return YearList(years=[YearCount(year=y.year, count=y.count) for y in found])

        return await facet("years", query_args, answer)

    @routes.get("/api/home")
    @require_login
    @validate_querystring(HomeQuery)
    @document_response(Home)
    @etagged
    async def home(query_args: HomeQuery) -> Response:
        """Your home rows: continue watching, next up, recently added."""
        viewer = current_viewer()
        limit = query_args.limit
        async with api.database.connect() as conn:
            resume = await browse.continue_watching(conn, viewer, limit)
            following = await browse.next_up(conn, viewer, limit)
            recent = await browse.recently_added(conn, viewer, limit)
        return json_answer(
            Home(
                continue_watching=items_out(resume),
                next_up=items_out(following),
                recently_added=items_out(recent),
            )
        )

    return routes
