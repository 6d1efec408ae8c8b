"""One rendering, in a process of its own forked by :mod:`engine.paperwork.server`: it
limits its own address space, renders the template in the sandbox and the HTML to PDF,
and gives back the bytes or why not (a text in Indonesian and English). Imported by the
server before any fork, so that Jinja, WeasyPrint and lokal are loaded once."""

from __future__ import annotations

import logging
import resource
from typing import Any

import lokal  # noqa: F401  (loaded before the fork: the filters use it)
import weasyprint
import weasyprint.urls
from jinja2 import TemplateError
from jinja2.exceptions import SecurityError

from engine.paperwork.sandbox import environment

logging.getLogger("weasyprint").setLevel(logging.ERROR)
logging.getLogger("fontTools").setLevel(logging.ERROR)


#: WeasyPrint fetches only ``data:`` URLs (an image written into the template itself);
#: never a file, nor anything on a network.
FETCHER = weasyprint.urls.URLFetcher(allowed_protocols=("data",), timeout=1)


def _limit(memory_bytes: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        memory_bytes = min(memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, hard))


def html_of(text: str, values: dict[str, Any], max_html: int) -> str:
    """The template rendered in the sandbox; refused once it grows past ``max_html``."""
    parts: list[str] = []
    size = 0
    for chunk in environment().from_string(text).generate(values):
        size += len(chunk)
        if size > max_html:
            raise OverflowError(f"the document grew past {max_html} characters")
        parts.append(chunk)
    return "".join(parts)


def pdf_of(html: str, stylesheet: str) -> bytes:
    page = weasyprint.HTML(string=html, url_fetcher=FETCHER)
    return bytes(page.write_pdf(stylesheets=[weasyprint.CSS(string=stylesheet)]))


def run(
    text: str, values: dict[str, Any], memory_bytes: int, max_html: int, stylesheet: str
) -> tuple[Any, ...]:
    """``("ok", pdf)`` or ``("error", indonesian, english)``."""
    try:
        _limit(memory_bytes)
        outcome: tuple[Any, ...] = ("ok", pdf_of(html_of(text, values, max_html), stylesheet))
    except SecurityError as exc:
        outcome = (
            "error",
            f"template mencoba menjangkau sesuatu di luar sandbox ({exc})",
            f"the template tried to reach outside its sandbox ({exc})",
        )
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (baris {line})" if line else ""
        where_en = f" (line {line})" if line else ""
        outcome = (
            "error",
            f"kesalahan template{where}: {exc}",
            f"template error{where_en}: {exc}",
        )
    except MemoryError:
        outcome = ("error", "kehabisan memori", "ran out of memory")
    except RecursionError:
        outcome = ("error", "template terlalu dalam bersarang", "the template nests too deeply")
    except OverflowError as exc:
        outcome = ("error", f"batas terlampaui: {exc}", f"a limit was reached: {exc}")
    except Exception as exc:  # anything else a template can provoke in Jinja or WeasyPrint
        outcome = (
            "error",
            f"{type(exc).__name__}: {exc}",
            f"{type(exc).__name__}: {exc}",
        )
    return outcome
