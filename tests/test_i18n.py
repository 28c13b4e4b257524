"""Chinese first: no untranslated English in any template of any module, and one complete message catalogue.

The catalogue is the `register_messages` tables (`core.pages`): every key in zh-CN and in English, every
`t('key')` a template uses defined, and the zh-CN texts free of English. Each module is its own test case so
a failure names the module that owns it. The browser check over the running demo is in
`tests/web/test_i18n_browser.py`."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "govgrid"
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019]*")
# user-visible attributes (a submit button's value is its label)
ATTRIBUTES = {"placeholder", "title", "aria-label", "alt", "label"}
SKIPPED_TAGS = {"script", "style", "code", "pre", "kbd", "samp"}
# Latin words that are right in a zh-CN page: units, standards, formats, codes and proper names
ALLOWED = {
    # formats and standards
    "API", "JSON", "GeoJSON", "CSV", "XLSX", "PDF", "PNG", "JPEG", "JPG", "SVG", "XML", "URL", "HTTP",
    "HTTPS",
    "UTC", "CRS", "OGC", "WMTS", "WMS", "XYZ", "CKAN", "DCAT", "Open", "GeoReport", "GB", "T", "ID", "IoT",
    "GPS", "WGS", "CGCS", "SHP", "KML", "GPKG", "SQL", "OpenAPI", "Swagger", "WeChat", "Shapefile", "LiDAR",
    # units
    "ha", "km", "m", "kg", "t", "tCO", "CO", "e", "h", "d", "min", "s", "mm", "cm", "MB", "KB",
    "kWh", "MWh", "mu", "pH", "mg", "L",
    # codes and names that are not words
    "No", "KPI", "IPCC", "VCS", "CCER", "NDVI", "SLA", "QR", "SHA", "MRV", "C", "v",
    # method names (statistics, encodings, software)
    "STL", "ARIMA", "MAD", "UTF", "GBK", "Excel", "Dask", "xlsx", "csv", "json", "geojson",
    # the language switch names the other language in that language
    "English", "N", "E", "W", "S",
}
MODULES = sorted({p.relative_to(SRC).parts[0] for p in SRC.rglob("templates/**/*.html")})
T_CALL = re.compile(r"""\bt\(\s*['"]([A-Za-z0-9_.-]+)['"]\s*[,)]""")
FILE_NAME = re.compile(r"\.(json|geojson|csv|xlsx|xml|tif|tiff|png|jpg|pdf|zip|gpkg|shp)\b", re.I)
PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*(?:[:!][^{}]*)?\}")


def english_words(text: str) -> list[str]:
    """The Latin words in `text` that are not on the allow-list (paths and e-mail addresses skipped)."""
    words = []
    for token in PLACEHOLDER.sub(" ", text).split():
        # paths, addresses, file names and codes (A01, CA-000000, W3C) are data, not words
        if "/" in token or "@" in token or FILE_NAME.search(token) or any(c.isdigit() for c in token):
            continue
        # a class letter (A 类) is not an English word
        words += [w for w in WORD.findall(token)
                  if w not in ALLOWED and w.rstrip("s") not in ALLOWED and not re.fullmatch(r"[A-Z]", w)]
    return words


class _Texts(HTMLParser):
    """Collects text nodes and user-visible attribute values with their line numbers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skipping = 0
        self.found: list[tuple[int, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED_TAGS:
            self.skipping += 1
        values = dict(attrs)
        for name, value in attrs:
            visible = name in ATTRIBUTES or (
                tag == "input" and name == "value" and values.get("type") in ("submit", "button"))
            if value and visible:
                self.found.append((self.getpos()[0], f"<{tag} {name}>", value))

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.found.append((self.getpos()[0], "text", data.strip()))


def untranslated(path: Path) -> list[str]:
    """Every literal English text in a template (outside {{ }}, {% %} and scripts), as 'file:line: text'."""
    source = path.read_text(encoding="utf-8")
    # drop Jinja expressions and tags, keeping line numbers
    stripped = JINJA.sub(lambda m: "\n" * m.group(0).count("\n"), source)
    parser = _Texts()
    parser.feed(stripped)
    parser.close()
    where = path.relative_to(SRC.parent) if path.is_relative_to(SRC.parent) else path.name
    return [f"{where}:{line}: {kind}: {text[:80]!r} ({', '.join(words)})"
            for line, kind, text in parser.found if (words := english_words(text))]


def test_the_scanner_finds_english_and_skips_what_is_allowed(tmp_path: Path) -> None:
    page = tmp_path / "x.html"
    page.write_text('<p>状态：OK</p>\n<input placeholder="lon">\n<p>{{ t("a") }} 面积 (ha) · GeoJSON · '
                    '/api/v1/x</p>\n<script nonce="{{ n }}">const ok = "yes";</script>\n'
                    '<button title="{{ t(\'b\') }}">{% if x %}保存{% endif %}</button>', encoding="utf-8")
    found = untranslated(page)
    assert len(found) == 2
    assert ":1: text: '状态：OK' (OK)" in found[0]
    assert ":2: <input placeholder>: 'lon' (lon)" in found[1]


@pytest.mark.parametrize("module", MODULES)
def test_no_english_in_templates(module: str) -> None:
    paths = sorted((SRC / module).rglob("templates/**/*.html"))
    found = [hit for path in paths for hit in untranslated(path)]
    assert found == [], "untranslated text (use t('key') and the module's messages):\n" + "\n".join(found)


@pytest.fixture(scope="module")
def catalogue() -> dict[str, dict[str, str]]:
    """Every module's messages, registered the way the app registers them."""
    from govgrid.core.jobs import routes as _jobs_pages  # noqa: F401  (the core's own pages register theirs)
    from govgrid.core.modules import MODULE_NAMES, module_specs
    from govgrid.core.pages import catalogue as registered
    from govgrid.core.pages import register_messages
    from govgrid.web.messages import MESSAGES

    register_messages(MESSAGES)
    assert {spec.name for spec in module_specs()} <= set(MODULE_NAMES)  # importing a spec registers its pages
    return registered()


@pytest.mark.parametrize("module", MODULES)
def test_every_key_a_template_uses_is_in_the_catalogue(module: str, catalogue) -> None:
    missing = []
    for path in sorted((SRC / module).rglob("templates/**/*.html")):
        for key in T_CALL.findall(path.read_text(encoding="utf-8")):
            if key not in catalogue["zh-CN"] or key not in catalogue["en"]:
                missing.append(f"{path.relative_to(SRC.parent)}: {key}")
    assert missing == [], "keys missing in zh-CN or en:\n" + "\n".join(sorted(set(missing)))


def test_both_languages_have_the_same_keys(catalogue) -> None:
    zh, en = set(catalogue["zh-CN"]), set(catalogue["en"])
    assert sorted(zh - en) == [], "zh-CN keys without an English text"
    assert sorted(en - zh) == [], "English keys without a zh-CN text"


def test_zh_cn_texts_are_chinese(catalogue) -> None:
    english = {key: text for key, text in catalogue["zh-CN"].items() if english_words(text)}
    assert english == {}, "zh-CN catalogue texts with English words (bilingual texts belong in two tables)"
