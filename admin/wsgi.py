"""WSGI entry point for servers such as gunicorn: ``gunicorn admin.wsgi:app``."""

from admin import create_app

app = create_app()
