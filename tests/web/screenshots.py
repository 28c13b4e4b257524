"""Screenshots of the main pages at 1280 px and 375 px (phone) for the README, from a running demo:

    python -m tests.web.screenshots                       # starts `govgrid demo` in a temp folder and waits
    python -m tests.web.screenshots --url http://127.0.0.1:8000 --out docs/screenshots

PNG with an adaptive palette (the folder stays well under 3 MB); Debian Chromium through Playwright."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

from tests.live import free_port
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.web.crawl import login

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 760}}
# pages every installed module shows in the navigation are added after these
FIRST = [("home-anonymous", None, "/"), ("login", None, "/login"), ("home-matrix", "nh_gov", "/"),
         ("error-404", "nh_gov", "/departments/987654321"),
         ("citymap-classes", "admin", "/citymap/classes?county=140321&kind=event")]
COLOURS = 96  # an adaptive palette: screenshots are flat colours and text


def save_png(raw: bytes, path: Path) -> int:
    """Write a screenshot as a palette PNG; returns its size in bytes."""
    image = Image.open(io.BytesIO(raw)).convert("RGB")
    image.quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path.stat().st_size


def _settle(page) -> None:
    try:
        page.wait_for_load_state("networkidle", timeout=8000)
    except Exception:  # a page with a live feed never idles: take it as it is
        page.wait_for_timeout(800)


def take(base: str, out: Path, username: str = "admin") -> list[tuple[str, int]]:
    """Every main page at both sizes; returns (file name, bytes)."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written: list[tuple[str, int]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for size, viewport in SIZES.items():
            users: dict[str | None, object] = {}

            def page_for(user: str | None, viewport=viewport, users=users, phone=size == "phone"):
                if user not in users:
                    ctx = browser.new_context(viewport=viewport, locale="zh-CN", device_scale_factor=1,
                                              is_mobile=phone, has_touch=phone)
                    users[user] = ctx.new_page()
                    if user:
                        login(users[user], base, user)
                return users[user]

            pages = list(FIRST)
            nav = page_for(username)
            nav.goto(base + "/")
            for href in nav.eval_on_selector_all("#nav-menu ul.mr-auto a.nav-link",
                                                 "els => els.map(e => e.getAttribute('href'))"):
                if href != "/":
                    name = href.strip("/").split("?")[0].replace("/", "-") or "home"
                    pages.append((name, username, href))
            for name, user, path in pages:
                page = page_for(user)
                page.goto(base + path)
                _settle(page)
                file = out / f"{name}-{size}.png"
                written.append((file.name, save_png(page.screenshot(), file)))
            if size == "phone":  # the folded menu, opened
                page = page_for(username)
                page.goto(base + "/")
                page.click("#nav-toggler")
                file = out / "menu-phone.png"
                written.append((file.name, save_png(page.screenshot(), file)))
        browser.close()
    return written


def _demo(folder: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """`govgrid demo` in `folder`, once its data has loaded."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVGRID_")}
    proc = subprocess.Popen([sys.executable, "-m", "govgrid.cli", "demo", "--port", str(port)], cwd=folder,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        try:
            text = httpx.get(base + "/", timeout=10).text
            if 'id="demo-loading"' not in text:
                return base, proc
        except httpx.HTTPError:
            pass
        time.sleep(2)
    proc.kill()
    raise SystemExit("the demo did not finish loading")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running demo (default: start one in a temp folder)")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    proc = None
    base = args.url
    if base is None:
        base, proc = _demo(Path(tempfile.mkdtemp(prefix="govgrid-shots-")))
    try:
        written = take(base.rstrip("/"), args.out)
    finally:
        if proc is not None:
            proc.terminate()
    for name, size in written:
        print(f"{name:<40} {size / 1024:7.1f} KB")  # noqa: T201
    print(f"{len(written)} screenshots, {sum(s for _, s in written) / 1e6:.2f} MB in {args.out}")  # noqa: T201


if __name__ == "__main__":
    main()
