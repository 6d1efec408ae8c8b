"""`rukun serve`: the operator UI on a production WSGI server (waitress). The engine finds
this command through the ``rukun.commands`` entry point; it never imports the web layer.
`rukun --help` loads this module for the command's help line, so the app, the engine and the
server are imported only when the command runs."""

from __future__ import annotations

import click

from engine.cli_base import listen_options


@click.command()
@listen_options
@click.option(
    "--threads", default=8, show_default=True, type=click.IntRange(min=1), help="Worker threads."
)
def serve(host: str, port: int, threads: int) -> None:
    """Serve the operator UI on RUKUN_DATABASE_URL (run `rukun db upgrade` first).

    For several processes use gunicorn: `gunicorn -w 4 -b 0.0.0.0:8000 admin.wsgi:app`.
    Sessions are signed with RUKUN_SECRET_KEY or else the key file (RUKUN_SECRET_KEY_FILE,
    default rukun-secret-key next to the SQLite file or in RUKUN_STORAGE), made once with
    mode 0600: every worker and restart shares it. Behind an HTTPS proxy set
    RUKUN_PROXY_COUNT=1 and RUKUN_SECURE_COOKIES=1 (docs/deploy.md).
    """
    from waitress.server import create_server

    from admin import create_app
    from engine.cli import cannot_listen, no_such_host
    from engine.runtime import Rukun

    rukun = Rukun()
    rukun.check_schema()
    app = create_app(rukun)  # reads or makes the key file: refusals come before "Rukun on"
    try:  # binds the port: a taken one is told before "Rukun on", as one line
        server = create_server(app, host=host, port=port, threads=threads)
    except OSError as error:
        raise cannot_listen(host, port, error) from None
    except ValueError:  # waitress: a host it cannot resolve (the port is in range)
        raise no_such_host(host) from None
    shown = getattr(server, "effective_port", port)  # port 0: the one the system chose
    click.echo(f"Rukun on http://{host}:{shown}/ (Ctrl+C stops it)")
    server.run()
