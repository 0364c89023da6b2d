"""The ``tixtrace`` command: one Typer app with a sub-app per service (DESIGN section 7)."""

from __future__ import annotations

import typer

from tixtrace.backoffice.cli import app as backoffice_app
from tixtrace.wallet.cli import app as wallet_app

app = typer.Typer(
    help="tixtrace: every change of ownership of a mobile ticket, traced in the ticketing back office.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(wallet_app, name="wallet", help="The mobile wallet service (the TIXNGO role).")
app.add_typer(backoffice_app, name="backoffice", help="The ticketing back office (the S-360 role).")


if __name__ == "__main__":
    app()
