"""``reelbox``: the command line and the composition root.

    reelbox serve [--library PATH ...]     serve the API and keep libraries scanned
    reelbox scan [--library NAME] [PATH ...]
    reelbox db upgrade | db current
    reelbox user add NAME [--role admin] [--password-stdin]
    reelbox library add NAME --kind movies SOURCE ... | library list
    reelbox demo [DIR]

Everything long-lived runs in one root task group: Hypercorn, the scan scheduler, the watcher.
"""

from __future__ import annotations

import argparse
import getpass
import importlib.metadata
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import anyio
import httpx
import structlog
from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config as HypercornConfig
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ingest.catalog import libraries as library_queries
from ingest.catalog import migrate
from ingest.catalog import users as user_queries
from ingest.catalog.database import open_database
from ingest.catalog.records import Library
from ingest.demo import generate_demo_library
from ingest.errors import CatalogError
from ingest.models import LibraryKind
from ingest.scanner import ScanStatistics
from ingest.schedule import ScanScheduler
from ingest.state import open_state
from ingest.watcher import LibraryWatcher
from web.auth.configure import oidc_providers, server_secret
from web.auth.oidc import OidcClient
from web.auth.oidc_routes import oidc_routes
from web.auth.passwords import Passwords, password_problem
from web.auth.routes import external_login
from web.auth.service import Auth
from web.logging import configure_logging
from web.runtime import Runtime, ensure_demo_library, ensure_libraries, open_runtime
from web.server import build_serving
from web.settings import Settings

log = structlog.get_logger("reelbox")
Command = Callable[[Settings, argparse.Namespace], Awaitable[int]]


def version() -> str:
    try:
        return importlib.metadata.version("reelbox")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


# --- serve --------------------------------------------------------------------------------------


async def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    node_id = f"{socket.gethostname()}:{os.getpid()}"
    async with (
        open_runtime(settings, migrate_schema=settings.auto_migrate) as runtime,
        open_state(settings.redis_url, node_id=node_id) as state,
        httpx.AsyncClient(timeout=10) as oidc_http,  # to OpenID Connect providers
    ):
        # Sessions and login limits live in the shared state (Redis in a cluster); the signing
        # keys, session records, API keys and invites in the catalog.
        auth = Auth(runtime.database, state.sessions, state.limiter, settings.auth)
        # OpenID Connect login (its provider list is empty, not missing, when none is set up).
        oidc = OidcClient(oidc_providers(settings), oidc_http, server_secret(settings))
        blueprints = [
            oidc_routes(
                oidc,
                external_login(auth, role=settings.auth.oidc_role),
                public_url=settings.auth.public_url,
                allowed_redirects=settings.auth.oidc_redirects,
            )
        ]
        paths = [*settings.media_dirs, *args.library]
        libraries = await ensure_libraries(runtime, paths, LibraryKind(args.kind))
        async with runtime.database.connect() as conn:
            existing = await library_queries.list_libraries(conn)
        if not existing and settings.demo_library:
            libraries = await ensure_demo_library(runtime)
        log.info("serve.libraries", names=[lib.name for lib in libraries or existing])

        watcher = LibraryWatcher(
            runtime.database, runtime.scanner, debounce_ms=settings.scan.watch_debounce_ms
        )

        async def libraries_changed() -> None:
            watcher.refresh()

        serving = build_serving(
            version=version(),
            database=runtime.database,
            scanner=runtime.scanner,
            artwork=runtime.artwork,
            images=runtime.images,
            sources=runtime.sources,
            state=state,
            auth=auth,
            node_id=node_id,
            blueprints=tuple(blueprints),
            stream=settings.stream,
            render_images=settings.scan.images,
            clustered=settings.redis_url is not None,
            s3_credentials=frozenset(settings.s3_credentials),
            libraries_changed=libraries_changed,
            metrics_token=(
                settings.metrics_token.get_secret_value() if settings.metrics_token else None
            ),
            webapp_dir=_webapp_dir(settings),
        )
        scheduler = ScanScheduler(
            runtime.database,
            runtime.scanner,
            interval_s=settings.scan.interval_s,
            after_scan=serving.after_scan,
        )
        app = serving.app
        config = HypercornConfig()
        config.bind = [f"{args.host or settings.host}:{args.port or settings.port}"]
        config.accesslog = None
        config.errorlog = logging.getLogger("hypercorn.error")  # through structlog's handler
        config.graceful_timeout = 10.0
        shutdown = anyio.Event()

        async def stopping() -> None:
            await shutdown.wait()
            serving.events.close()  # WebSockets close (1001) before Hypercorn drains the rest

        async def http(scope: anyio.CancelScope) -> None:
            # Hypercorn drains in-flight requests once `shutdown` is set, then returns; the rest
            # of the root group (scheduler, watcher) stops with it. It runs in a child task so
            # that its own asyncio TaskGroup cannot disturb the host task's cancellation.
            await hypercorn_serve(app, config, shutdown_trigger=stopping)
            scope.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(_wait_for_signals, shutdown)
            await tg.start(serving.run)
            await tg.start(scheduler.run)
            if settings.scan.watch:
                await tg.start(watcher.run)
            log.info("serve.listening", url=f"http://{config.bind[0]}/")
            tg.start_soon(http, tg.cancel_scope)
    log.info("serve.stopped")
    return 0


def _webapp_dir(settings: Settings) -> Path | None:
    """The web client's build: ``REELBOX_WEBAPP_DIR``, or ``client/dist`` of this checkout."""
    folder = settings.webapp_dir or Path(__file__).resolve().parent.parent / "client" / "dist"
    if (folder / "index.html").is_file():
        return folder
    log.warning("serve.no_web_client", folder=str(folder), hint="make run builds it")
    return None


async def _wait_for_signals(shutdown: anyio.Event) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log.info("serve.signal", signal=signal.Signals(signum).name)
            shutdown.set()
            return


# --- scan ---------------------------------------------------------------------------------------


async def cmd_scan(settings: Settings, args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    async with open_runtime(settings, migrate_schema=True) as runtime:
        targets = await ensure_libraries(runtime, args.paths, LibraryKind(args.kind))
        async with runtime.database.connect() as conn:
            everything = await library_queries.list_libraries(conn)
        if args.library:
            wanted = set(args.library)
            targets += [lib for lib in everything if lib.name in wanted or str(lib.id) in wanted]
            missing = wanted - {lib.name for lib in targets} - {str(lib.id) for lib in targets}
            if missing:
                console.print(f"[red]no library named {', '.join(sorted(missing))}[/red]")
                return 2
        elif not args.paths:
            targets = everything
        if not targets:
            console.print("no libraries: pass a folder, or add one with `reelbox library add`")
            return 2
        results = []
        for library in targets:
            stats = await _scan_with_progress(runtime, library, console, quiet=args.json)
            results.append(stats)
            if not args.json:
                console.print(_summary(library, stats))
            if args.images:
                with console.status(f"rendering images of {library.name}"):
                    made = await runtime.artwork.render_library(library.id)
                if not args.json:
                    console.print(f"{made} images rendered")
        if args.json:
            sys.stdout.write(json.dumps([s.as_dict() for s in results], indent=2) + "\n")
        return 1 if any(s.source_errors for s in results) else 0


async def _scan_with_progress(
    runtime: Runtime, library: Library, console: Console, *, quiet: bool
) -> ScanStatistics:
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>7.1f} files/s"),
        TextColumn("{task.fields[errors]} errors"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=quiet,
        transient=False,
    )
    result: list[ScanStatistics] = []
    with progress:
        task = progress.add_task(library.name, total=None, rate=0.0, errors=0)

        async def run(scope: anyio.CancelScope) -> None:
            result.append(await runtime.scanner.scan(library.id))
            scope.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(run, tg.cancel_scope)
            while True:
                stats = runtime.scanner.statistics(library.id)
                if stats is not None and stats.library_id == library.id:
                    progress.update(
                        task,
                        description=f"{library.name}: {stats.phase}",
                        total=stats.to_probe or None,
                        completed=stats.probed,
                        rate=stats.files_per_second,
                        errors=stats.failed,
                    )
                await anyio.sleep(0.2)
    final = result[0]
    progress.update(task, total=final.to_probe or 1, completed=final.probed or 1)
    return final


def _summary(library: Library, stats: ScanStatistics) -> Table:
    table = Table(title=f"{library.name} ({library.kind})", show_header=False)
    for label, value in (
        ("files found", stats.discovered),
        ("unchanged", stats.unchanged),
        ("probed", stats.probed),
        ("added", stats.added),
        ("updated", stats.updated),
        ("moved", stats.moved),
        ("removed", stats.removed),
        ("failed", stats.failed),
        ("time", f"{stats.elapsed:.2f} s"),
        ("speed", f"{stats.files_per_second:.1f} files/s"),
    ):
        table.add_row(label, str(value))
    for status, count in sorted(stats.by_status.items()):
        if status != "ok":
            table.add_row(f"  {status}", str(count))
    for reason in stats.source_errors:
        table.add_row("[red]source unavailable[/red]", reason)
    return table


# --- db, users, libraries, demo -----------------------------------------------------------------


async def cmd_db(settings: Settings, args: argparse.Namespace) -> int:
    db = open_database(settings.resolved_database_url)
    try:
        if args.db_command == "upgrade":
            revision = await migrate.upgrade(db)
            sys.stdout.write(f"catalog at revision {revision} ({db.url})\n")
        else:
            current = await migrate.current_revision(db)
            sys.stdout.write(f"{current or 'empty'} (code head {migrate.head_revision()})\n")
    finally:
        await db.dispose()
    return 0


async def cmd_user_add(settings: Settings, args: argparse.Namespace) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            sys.stderr.write("the passwords differ\n")
            return 2
    else:
        sys.stderr.write("no terminal to ask for a password: use --password-stdin\n")
        return 2
    problem = password_problem(password)
    if problem is not None:
        sys.stderr.write(f"{problem}\n")
        return 2
    hashed = await Passwords.configured(settings.auth).hash(password)
    db = open_database(settings.resolved_database_url)
    try:
        await migrate.upgrade(db)
        async with db.begin() as conn:
            if await user_queries.get_user_by_username(conn, args.username):
                sys.stderr.write(f"a user named {args.username!r} exists already\n")
                return 2
            # Made by the server's owner: sees every library until an admin narrows it.
            user = await user_queries.create_user(
                conn,
                args.username,
                roles=[args.role],
                password_hash=hashed,
                email=args.email,
                settings={user_queries.ALL_LIBRARIES: True},
            )
    finally:
        await db.dispose()
    sys.stdout.write(f"created user {user.username} (id {user.id}, {args.role})\n")
    return 0


async def cmd_library(settings: Settings, args: argparse.Namespace) -> int:
    db = open_database(settings.resolved_database_url)
    try:
        await migrate.upgrade(db)
        if args.library_command == "list":
            async with db.connect() as conn:
                for lib in await library_queries.list_libraries(conn):
                    sources = await library_queries.list_sources(conn, lib.id)
                    where = ", ".join(s.describe() for s in sources)
                    sys.stdout.write(f"{lib.id}\t{lib.name}\t{lib.kind}\t{where}\n")
            return 0
        async with db.begin() as conn:
            library = await library_queries.create_library(conn, args.name, LibraryKind(args.kind))
            for source in args.sources:
                if source.startswith("s3://"):
                    bucket, _, prefix = source.removeprefix("s3://").partition("/")
                    await library_queries.add_s3_source(
                        conn, library.id, bucket, prefix, args.credentials
                    )
                else:
                    resolved = await anyio.Path(source).resolve()
                    await library_queries.add_local_source(conn, library.id, str(resolved))
        sys.stdout.write(f"created library {library.name} (id {library.id})\n")
    finally:
        await db.dispose()
    return 0


async def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    root = Path(args.folder) if args.folder else settings.data_dir / "demo"
    folders = await anyio.to_thread.run_sync(generate_demo_library, root)
    for kind, folder in folders.items():
        sys.stdout.write(f"{kind.value}\t{folder}\n")
    return 0


# --- parsing ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reelbox", description="Reelbox media server")
    parser.add_argument("--version", action="version", version=f"reelbox {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    kinds = [k.value for k in LibraryKind]

    serve = sub.add_parser("serve", help="serve the API and keep the libraries scanned")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--library",
        action="append",
        default=[],
        type=Path,
        help="a folder to serve as a library (repeatable)",
    )
    serve.add_argument("--kind", choices=kinds, default="mixed")
    serve.set_defaults(func=cmd_serve)

    scan = sub.add_parser("scan", help="scan libraries now, with a progress bar")
    scan.add_argument("paths", nargs="*", type=Path, help="folders to scan as libraries")
    scan.add_argument("--library", action="append", default=[], help="a library name or id")
    scan.add_argument("--kind", choices=kinds, default="mixed")
    scan.add_argument("--images", action=argparse.BooleanOptionalAction, default=True)
    scan.add_argument("--json", action="store_true", help="print the statistics as JSON")
    scan.set_defaults(func=cmd_scan)

    db = sub.add_parser("db", help="catalog database")
    db.add_argument("db_command", choices=["upgrade", "current"])
    db.set_defaults(func=cmd_db)

    user = sub.add_parser("user", help="users")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="create a password user")
    add.add_argument("username")
    add.add_argument("--role", choices=list(user_queries.ROLES), default="member")
    add.add_argument("--email")
    add.add_argument("--password-stdin", action="store_true")
    add.set_defaults(func=cmd_user_add)

    library = sub.add_parser("library", help="libraries")
    lib_sub = library.add_subparsers(dest="library_command", required=True)
    lib_add = lib_sub.add_parser("add", help="create a library from folders or S3 prefixes")
    lib_add.add_argument("name")
    lib_add.add_argument("--kind", choices=kinds, required=True)
    lib_add.add_argument("sources", nargs="+", help="a folder or s3://bucket/prefix")
    lib_add.add_argument("--credentials", help="named S3 credentials from the settings")
    lib_add.set_defaults(func=cmd_library)
    lib_list = lib_sub.add_parser("list")
    lib_list.set_defaults(func=cmd_library)

    demo = sub.add_parser("demo", help="generate the demo library")
    demo.add_argument("folder", nargs="?")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except Exception as exc:  # pydantic's message names the bad setting
        sys.stderr.write(f"reelbox: invalid configuration: {exc}\n")
        return 2
    configure_logging(settings.log_level, settings.log_format)
    command: Command = args.func
    try:
        code: int = anyio.run(
            command, settings, args, backend="asyncio", backend_options={"use_uvloop": True}
        )
    except CatalogError as exc:
        log.error("catalog.refused", reason=str(exc))
        return 3
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
