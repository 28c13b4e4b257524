"""Walk the pages of a running govgrid in a browser: follow every same-site link from the home page (one page
per address shape: /x/12 and /x/13 are the same page), for the zh-CN check and for screenshots."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

from tests.live import DEMO_PASSWORD
from tests.test_i18n import english_words

# not pages of the site: API documentation (Swagger UI's own words), downloads, actions
SKIP = re.compile(r"^/(api/|docs|openapi|static/|lang/|logout|ckan/|ogc|open311|dcat|healthz|favicon)"
                  r"|\.(json|geojson|csv|xlsx|xml|ttl|jsonld|png|jpg|pdf|zip)$")
# the visible text of a page without code, data and third-party controls (map attribution)
VISIBLE_TEXT = """() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll('script, style, code, pre, kbd, samp, noscript, template, [hidden], '
    + '.leaflet-control-attribution, [data-i18n="data"]').forEach(e => e.remove());
  const attrs = [...document.querySelectorAll('[placeholder], [title], [aria-label]')]
    .filter(e => !e.closest('code, pre, .leaflet-container'))
    .map(e => [e.getAttribute('placeholder'), e.getAttribute('aria-label')].filter(Boolean).join(' '));
  return body.innerText + '\\n' + attrs.join('\\n');
}"""


def shape(path: str) -> str:
    """The page an address shows: numbers and codes replaced, the query's values dropped."""
    parts = urlsplit(path)
    shaped = re.sub(r"/[0-9][0-9A-Za-z_-]*", "/N", parts.path)
    keys = sorted(k.split("=")[0] for k in parts.query.split("&") if k)
    return shaped + ("?" + "&".join(keys) if keys else "")


def login(page, base: str, username: str) -> None:
    """Log in through the form."""
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def crawl(page, base: str, *, limit: int = 40, seen: set[str] | None = None) -> Iterator[str]:
    """Visit the site breadth first from the home page; yields each address once the page has loaded."""
    seen = set() if seen is None else seen
    queue = ["/"]
    visited = 0
    while queue and visited < limit:
        path = queue.pop(0)
        new = shape(path) not in seen
        if not new and path != "/":  # the home page is always read again: a new role has new links
            continue
        seen.add(shape(path))
        response = page.goto(base + path, wait_until="load")
        if response is None or not response.headers.get("content-type", "").startswith("text/html"):
            continue
        visited += 1
        if new:
            yield path
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
            target = urlsplit(urljoin(base + path, href))
            if target.netloc != urlsplit(base).netloc:
                continue
            local = target.path + ("?" + target.query if target.query else "")
            if not SKIP.search(target.path) and shape(local) not in seen:
                queue.append(local)


def english_on(page) -> list[str]:
    """The English words a visitor sees on the current page (outside code and the allow-list)."""
    return english_words(page.evaluate(VISIBLE_TEXT))
