"""The `identity` context, declared: staff accounts, roles and second factors; the staff
directory. TOTP secrets are sealed with the platform's data key before they are stored."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Annotated
from uuid import uuid4

import typer
from pydantic import ValidationError

from api import identity as http
from clinic.console import CommandLine, console
from clinic.declaration import Context, Worker
from clinic.demo import Phase
from clinic.demo.identity import register_staff
from commands.base import AlreadyExists
from commands.identity import Identity, RegisterStaff
from domain.shared import DomainError, Meta, Role
from infra.sealing import Sealer
from projections.identity import StaffDirectory, StaffQueries
from security.access_log import AccessLogCheck
from security.totp import TotpSteps

if TYPE_CHECKING:
    from clinic.platform import Platform


def _seal_secrets(identity: Identity, platform: Platform) -> None:
    identity.seal_secrets_with(Sealer(platform.keys["data"]))


def add_commands(cli: CommandLine) -> None:
    users = cli.group("user", "Staff accounts.")

    @users.command("create")
    def user_create(
        email: Annotated[str, typer.Option(help="sign-in email")],
        name: Annotated[str, typer.Option(help="full name")],
        role: Annotated[list[str], typer.Option(help="a role; repeat for several")],
        password_stdin: Annotated[bool, typer.Option(help="read the password from stdin")] = False,
    ) -> None:
        """Create a staff account from the server (the way to make the first admin)."""
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)

        async def create(platform: Platform) -> None:
            identity = platform.application(Identity)
            try:
                command = RegisterStaff(name=name, email=email, roles=role, password=password)
                meta = Meta("cli", "server-operator", str(uuid4()), str(uuid4()))
                first = not await asyncio.to_thread(identity.has_staff)
                result = await asyncio.to_thread(
                    identity.register, command, meta, first_admin=first and Role.ADMIN in role
                )
            except (DomainError, ValidationError, AlreadyExists) as error:
                console.print(f"[red]not created:[/red] {error}")
                raise typer.Exit(1) from None
            console.print(f"[green]created staff account {result.id}[/green]")

        cli.run(create, mongo=False)


# `clinic worker audit`: `clinic audit` is the access log's command group (verify, replay).
AUDIT = Worker(
    "audit",
    "The audit worker: walks the access log's chain every CLINIC_ACCESS_LOG_VERIFY_SECONDS "
    "and reports what it found in /metrics.",
    loops=lambda p: {
        "access-log-check": AccessLogCheck(p.access_log, p.settings.access_log_verify_seconds).run
    },
    alias=False,
)

CONTEXT = Context(
    name="identity",
    application=Identity,
    set_up=_seal_secrets,
    read_models=(StaffDirectory(),),
    provides=(lambda p: StaffQueries(p.pool), lambda p: TotpSteps(p.pool)),
    tables=(lambda p: p.get(TotpSteps),),
    routers=(http.router,),
    grants=http.GRANTS,
    cli=add_commands,
    demo=((Phase.STAFF, register_staff),),
    workers=(AUDIT,),
)
