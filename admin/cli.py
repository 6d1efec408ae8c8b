"""`rukun serve`: the operator UI on a production WSGI server (waitress). The engine finds
this command through the ``rukun.commands`` entry point; it never imports the web layer.
`rukun --help` loads this module for the command's help line, so the app, the engine and the
server are imported only when the command runs."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=int, help="Worker threads.")
def serve(host: str, port: int, threads: int) -> None:
    """Serve the operator UI on RUKUN_DATABASE_URL (run `rukun db upgrade` first).

    For several processes use gunicorn: `gunicorn -w 4 -b 0.0.0.0:8000 admin.wsgi:app`.
    Sessions are signed with RUKUN_SECRET_KEY or else the key file (RUKUN_SECRET_KEY_FILE,
    default rukun-secret-key next to the SQLite file or in RUKUN_STORAGE), made once with
    mode 0600: every worker and restart shares it. Behind an HTTPS proxy set
    RUKUN_PROXY_COUNT=1 and RUKUN_SECURE_COOKIES=1 (docs/deploy.md).
    """
    from waitress import serve as run_server

    from admin import create_app
    from engine.runtime import Rukun

    rukun = Rukun()
    rukun.check_schema()
    app = create_app(rukun)  # reads or makes the key file: refusals come before "Rukun on"
    click.echo(f"Rukun on http://{host}:{port}/ (Ctrl+C stops it)")
    run_server(app, host=host, port=port, threads=threads)
