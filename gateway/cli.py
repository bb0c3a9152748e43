"""`clone-gateway`: serve, migrate, and the account chores an operator does by hand."""

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import uvicorn

from gateway import metrics
from gateway.errors import ApiError
from gateway.services import Services
from gateway.settings import Settings, SettingsError
from graph.accounts import ops
from models.migrate import upgrade


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clone-gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="apply pending migrations, then serve HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8001)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info")

    commands.add_parser("migrate", help="apply pending database migrations")

    createuser = commands.add_parser("createuser", help="create an account")
    createuser.add_argument("--email", required=True)
    createuser.add_argument("--password", required=True)
    createuser.add_argument("--staff", action="store_true")
    createuser.add_argument("--display-name")

    apikey = commands.add_parser("apikey", help="API keys").add_subparsers(
        dest="action", required=True
    )
    apikey_create = apikey.add_parser("create", help="create a key and print it once")
    apikey_create.add_argument("--email", required=True)
    apikey_create.add_argument("--name", required=True)

    invite = commands.add_parser("invite", help="invite codes").add_subparsers(
        dest="action", required=True
    )
    invite_create = invite.add_parser("create", help="create invite codes and print them")
    invite_create.add_argument("--count", type=int, default=1)
    invite_create.add_argument("--note", default="")
    return parser


async def _with_db(settings: Settings, action: Callable[[Services, Any], Awaitable[Any]]) -> Any:
    services = Services.create(settings)
    try:
        async with services.database.sessions() as db:
            return await action(services, db)
    finally:
        await services.aclose()


async def _createuser(services: Services, db: Any, args: argparse.Namespace) -> str:
    user = await ops.create_user(
        db,
        email=ops.normalize_email(args.email),
        password=ops.check_password(args.password),
        display_name=args.display_name,
        is_staff=args.staff,
    )
    return f"created {'staff ' if user.is_staff else ''}user {user.email} ({user.id})"


async def _apikey_create(services: Services, db: Any, args: argparse.Namespace) -> str:
    user = await ops.get_user_by_email(db, args.email)
    _, plaintext = await ops.create_api_key(db, user, args.name)
    return plaintext


async def _invite_create(services: Services, db: Any, args: argparse.Namespace) -> str:
    return "\n".join(await ops.create_invites(db, None, count=args.count, note=args.note))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"clone-gateway: {exc}", file=sys.stderr)
        return 2
    if args.command in ("serve", "migrate"):
        upgrade(settings.database_url)
        if args.command == "migrate":
            print("database is up to date")
            return 0
        metrics.prepare_multiprocess(args.workers)  # before the workers start
        uvicorn.run(
            "gateway.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            proxy_headers=True,
        )
        return 0
    upgrade(settings.database_url)
    chores = {
        "createuser": _createuser,
        ("apikey", "create"): _apikey_create,
        ("invite", "create"): _invite_create,
    }
    key = args.command if args.command == "createuser" else (args.command, args.action)
    chore = chores[key]
    try:
        print(asyncio.run(_with_db(settings, lambda s, db: chore(s, db, args))))
    except ApiError as exc:
        print(f"clone-gateway: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
