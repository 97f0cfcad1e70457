"""The workbench's message catalogs: which files belong to which area, extraction, compiling.

``python -m admin.catalogs`` brings every area's ``zh_Hans_CN`` catalog up to date with its
source (new strings are added untranslated, vanished ones dropped) and compiles the ``.mo``
files Flask-Babel reads. ``tests/admin/test_translations.py`` fails while a string is left
untranslated or a ``.mo`` is stale.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).parent
TRANSLATIONS = ROOT / "translations"
LOCALES = ("zh_Hans_CN",)
SHARED = "workbench"  # the layout, errors, login: everything no single area owns
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def area_files(domain: str) -> list[Path]:
    """The Python modules and templates whose strings live in ``domain``'s catalog."""
    if domain == SHARED:
        files = [ROOT / "area.py", ROOT / "i18n.py", ROOT / "views" / "auth.py"]
        files += [ROOT / "templates" / name for name in ("base.html", "error.html", "_macros.html")]
        files += sorted((ROOT / "templates" / "auth").glob("*.html"))
        return files
    files = [ROOT / "views" / f"{domain}.py"]
    files += sorted((ROOT / "views" / domain).rglob("*.py"))
    files += sorted((ROOT / "forms" / domain).rglob("*.py")) + [ROOT / "forms" / f"{domain}.py"]
    files += sorted((ROOT / "templates" / domain).rglob("*.html"))
    return [path for path in files if path.exists()]


def extract(domain: str) -> Catalog:
    catalog = Catalog(domain=domain)
    for path in area_files(domain):
        method = "jinja2.ext:babel_extract" if path.suffix == ".html" else "python"
        options = {"extensions": "jinja2.ext.i18n", "trimmed": "true"} if path.suffix == ".html" else {}
        for lineno, message, _comments, context in extract_from_file(
            method, str(path), keywords=KEYWORDS, options=options
        ):
            catalog.add(message, locations=[(str(path.relative_to(ROOT)), lineno)], context=context)
    return catalog


def po_path(locale: str, domain: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / f"{domain}.po"


def read(locale: str, domain: str) -> Catalog:
    path = po_path(locale, domain)
    if not path.exists():
        return Catalog(locale=locale, domain=domain)
    with path.open("rb") as source:
        return read_po(source, locale=locale, domain=domain)


def compiled(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def is_translated(message) -> bool:
    """Every form of the message has a translation (a plural has one per form)."""
    if isinstance(message.string, (list, tuple)):
        return all(message.string)
    return bool(message.string)


def update(domains: list[str]) -> list[str]:
    """Update and compile every catalog; return ``domain: msgid`` for each string still untranslated."""
    missing = []
    for locale in LOCALES:
        for domain in domains:
            catalog = read(locale, domain)
            catalog.update(extract(domain), no_fuzzy_matching=True)
            catalog.obsolete.clear()
            path = po_path(locale, domain)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as target:
                write_po(target, catalog, width=100, omit_header=False, sort_output=False)
            path.with_suffix(".mo").write_bytes(compiled(read(locale, domain)))
            missing += [f"{domain}: {m.id}" for m in catalog if m.id and not is_translated(m)]
    return missing


def main() -> None:
    from admin.views import AREAS

    missing = update([area.domain for area in AREAS])
    print("\n".join(missing) or "every string is translated")
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
