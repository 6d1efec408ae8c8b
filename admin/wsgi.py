"""WSGI entry point for servers such as gunicorn: ``gunicorn -w 4 admin.wsgi:app``.

Every worker signs sessions with the same key: ``RUKUN_SECRET_KEY``, or else the key file
(``RUKUN_SECRET_KEY_FILE``, default ``rukun-secret-key`` next to the SQLite file or in
``RUKUN_STORAGE``) that the first worker creates with mode 0600 and the others read. Behind
an HTTPS proxy set ``RUKUN_PROXY_COUNT`` and ``RUKUN_SECURE_COOKIES=1`` (docs/deploy.md).
"""

from admin import create_app

app = create_app()
