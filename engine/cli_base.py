"""What every `rukun` command shares: the group that turns errors into one line (and a
JSON object with --json) and an exit code, the --json option, output, the engine of the
invocation and FIELD=VALUE pairs.

Exit codes (every command): 0 done; 1 invalid definition, refused by a guard or invalid
data; 2 usage error; 3 forbidden; 4 conflict; 5 not found.
"""

from __future__ import annotations

import gc
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import click

from engine.errors import RukunError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from engine.runtime import Rukun

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("rukun")


# --------------------------------------------------------------------------- plumbing


class RukunGroup(click.Group):
    """Translates every error into one line (and a JSON object with --json) and an exit code.

    The commands named in ``lazy`` (name -> ``module:attribute``) and those registered by
    other packages under the ``rukun.commands`` entry point group (the web UI's ``serve``)
    are imported only when asked for: a command loads its own module, not every other's.
    """

    def __init__(self, *args: Any, lazy: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy, *_plugins()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy:
            module, _, attribute = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        if command is None and cmd_name in _plugins():
            loaded = _plugins()[cmd_name].load()
            command = loaded if isinstance(loaded, click.Command) else None
        return command

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.UsageError as error:
            where = error.ctx.command_path if error.ctx else "rukun"
            click.echo(f"error: {error.format_message()} (see '{where} --help')", err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            click.echo(f"error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RukunError as error:
            fail(ctx, error.message, error.exit_code, error.to_json())
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            # the reader (e.g. `| head`) went away: nothing left to say to anyone
            sys.stderr = open(os.devnull, "w")  # noqa: SIM115
            ctx.exit(0)
        except Exception as error:
            # imported here, not at start-up: `rukun --help` and `rukun validate` need no SQLAlchemy
            from sqlalchemy.exc import SQLAlchemyError

            if isinstance(error, SQLAlchemyError):
                reason = str(getattr(error, "orig", None) or error).splitlines()[0]
                fail(ctx, f"database error: {reason}", 1, {"kind": "database", "message": reason})
            else:
                log.debug("internal error", exc_info=True)
                message = (
                    f"internal error: {type(error).__name__}: {error} "
                    "(set RUKUN_DEBUG=1 for details)"
                )
                fail(ctx, message, 1, {"kind": "internal", "message": str(error)})


def _plugins() -> dict[str, EntryPoint]:
    # read only to list the commands or to find one that is not built in (`rukun serve`): the
    # other commands start without reading the installed packages' metadata
    from importlib.metadata import entry_points

    return {point.name: point for point in entry_points(group="rukun.commands")}


def fail(ctx: click.Context, message: str, code: int, payload: dict[str, Any]) -> None:
    if ctx.meta.get("rukun.json"):
        click.echo(json.dumps({"error": payload}, ensure_ascii=False, indent=2))
    for line in message.splitlines() or [message]:
        click.echo(
            f"error: {line}" if not isinstance(payload.get("problems"), list) else line, err=True
        )
    ctx.exit(code)


def json_option(function: F) -> F:
    def remember(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:
            ctx.meta["rukun.json"] = True
        return value

    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        callback=remember,
        expose_value=True,
        is_eager=True,
        help="Print machine-readable JSON.",
    )(function)


def emit(data: Any, as_json: bool, human: Callable[[], Iterable[str]]) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        for line in human():
            click.echo(line)


def rukun_app(check: bool = True) -> Any:
    """The engine for this invocation, from RUKUN_* settings; checks the schema is current."""
    ctx = click.get_current_context()
    app = ctx.meta.get("rukun.app")
    if app is None:
        app = ctx.meta["rukun.app"] = _service_layer()()
        ctx.call_on_close(app.close)
        if check:
            app.check_schema()
    return app


def _service_layer() -> type[Rukun]:
    """:class:`~engine.runtime.Rukun`, imported when a command first needs it. In a process
    that has not loaded it yet (`rukun` itself, not the tests or the web UI that run
    commands), it is loaded with the cyclic garbage collector paused, then what exists is
    frozen out of every later collection: SQLAlchemy, the models and the language make
    ~100,000 objects that live as long as the process, which collections while they load
    and the last ones at exit would walk for nothing (~0.2 s of `rukun case show`)."""
    if "engine.runtime" not in sys.modules:
        enabled = gc.isenabled()
        gc.disable()
        try:
            import engine.runtime  # noqa: F401
        finally:
            gc.freeze()
            if enabled:
                gc.enable()
    from engine.runtime import Rukun

    return Rukun


def parse_pairs(pairs: Iterable[str], what: str, shape: str = "FIELD=VALUE") -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"{what} takes {shape}, got {pair!r}")
        result[key.strip()] = value
    return result


def listen_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--host`` and ``--port`` the UI listens on (`rukun demo`, `rukun serve`)."""
    host = click.option(
        "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
    )
    port = click.option(
        "--port",
        default=5000,
        show_default=True,
        type=click.IntRange(0, 65535),
        help="Port to listen on.",
    )
    return host(port(command))
