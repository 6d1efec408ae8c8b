"""docs/deploy.md stays true to the code: its configuration table names every RUKUN_*
variable the settings read, and its gunicorn.conf.py sets only settings gunicorn knows
(tests/integration/test_gunicorn.py runs gunicorn with it)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from gunicorn.config import KNOWN_SETTINGS

from engine.store.db import PING_AFTER_IDLE
from tests.load import DEPLOY_DOC, documented_gunicorn_conf

SETTINGS = Path(__file__).resolve().parents[2] / "engine" / "settings.py"


def _configuration_table() -> str:
    text = DEPLOY_DOC.read_text(encoding="utf-8")
    section = re.search(r"^## Configuration\n(.*?)^## ", text, re.S | re.M)
    assert section, "docs/deploy.md has no Configuration section"
    return section.group(1)


def test_the_configuration_table_names_every_variable_the_settings_read() -> None:
    read = set(re.findall(r'"(RUKUN_[A-Z_]+)"', SETTINGS.read_text(encoding="utf-8")))
    documented = set(re.findall(r"^\| `(RUKUN_[A-Z_]+)` \|", _configuration_table(), re.M))
    assert read, "engine/settings.py reads no RUKUN_* variable?"
    assert read - documented == set()
    assert documented - read == {"RUKUN_DEBUG"}  # read by the command line (engine/cli.py)


def test_the_documented_gunicorn_conf_sets_only_known_settings() -> None:
    tree = ast.parse(documented_gunicorn_conf())
    assigned = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert assigned - {setting.name for setting in KNOWN_SETTINGS} == set()
    assert {"bind", "workers", "timeout", "accesslog", "errorlog"} <= assigned


def test_the_idle_time_before_a_ping_is_the_code_s() -> None:
    text = DEPLOY_DOC.read_text(encoding="utf-8")
    said = re.search(r"idle for more than (\d+) seconds is pinged", text)
    assert said, "docs/deploy.md no longer says when a pooled connection is pinged"
    assert float(said.group(1)) == PING_AFTER_IDLE
