"""Open a page in headless Chromium (Debian's, driven by Playwright) and report what rendered:
the title, which expected texts are visible, the charts (inline SVGs) and the shapes drawn in
them, console errors and failed requests, and the page's width against the viewport; saves a
screenshot. Prints one JSON object.

usage: browser_check.py URL SCREENSHOT EXPECTED_TEXT...
"""
import json
import os
import sys

from playwright.sync_api import sync_playwright

url, screenshot, expected = sys.argv[1], sys.argv[2], sys.argv[3:]
chromium = os.environ.get("DESKSYNC_CHROMIUM", "/usr/bin/chromium")
errors, failed = [], []
with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path=chromium,
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    )
    out = {}
    for name, viewport in [("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})]:
        page = browser.new_page(viewport=viewport)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: failed.append(r.url))
        # Anything but the page itself would come from elsewhere: count it.
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(url, wait_until="load")
        text = page.inner_text("body")
        charts = page.eval_on_selector_all("svg.chart", "els => els.length")
        shapes = page.eval_on_selector_all(
            "svg.chart rect, svg.chart path, svg.chart circle",
            "els => els.filter(e => { const b = e.getBBox(); return b.width > 0 || b.height > 0; }).length")
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        path = screenshot if name == "desktop" else screenshot.replace(".png", "-phone.png")
        page.screenshot(path=path, full_page=True)
        out[name] = {
            "title": page.title(),
            "found": {t: t in text for t in expected},
            "charts": charts,
            "shapes": shapes,
            "scroll_width": scroll_width,
            "viewport_width": viewport["width"],
            "other_requests": [r for r in requests if r != url],
            "screenshot": path,
        }
        page.close()
    browser.close()
out["console_errors"] = errors
out["failed_requests"] = failed
print(json.dumps(out))
