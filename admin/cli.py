"""`rukun serve`: the operator UI on a production WSGI server (waitress). The engine finds
this command through the ``rukun.commands`` entry point; it never imports the web layer."""

from __future__ import annotations

import click

from engine.runtime import Rukun


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=int, help="Worker threads.")
def serve(host: str, port: int, threads: int) -> None:
    """Serve the operator UI on RUKUN_DATABASE_URL (run `rukun db upgrade` first).

    For several processes use gunicorn: `gunicorn -w 4 -b 0.0.0.0:8000 admin.wsgi:app`.
    """
    from waitress import serve as run_server

    from admin import create_app

    rukun = Rukun()
    rukun.check_schema()
    click.echo(f"Rukun on http://{host}:{port}/ (Ctrl+C stops it)")
    run_server(create_app(rukun), host=host, port=port, threads=threads)
