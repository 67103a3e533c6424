"""Driving the portal in Debian's chromium (Python playwright, no browser download): sign-in and out, each
page screenshotted and checked with axe-core, downloads (Blob URLs) read back as files."""

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.conftest import ROOT_DIR

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = ROOT_DIR / "portal" / "node_modules" / "axe-core" / "axe.min.js"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class Portal:
    def __init__(self, page: Page, url: str, password: str, artifacts: Path) -> None:
        self.page, self.url, self.password, self.artifacts = page, url, password, artifacts
        self.checked: dict[str, list[str]] = {}

    def sign_in(self, username: str) -> None:
        self.page.goto(f"{self.url}/portal/")
        self.page.get_by_label("用户名").fill(username)
        self.page.get_by_label("密码").fill(self.password)
        self.page.get_by_role("button", name="登录").click()
        expect(self.page.get_by_role("button", name="退出")).to_be_visible()

    def sign_out(self) -> None:
        self.page.get_by_role("button", name="退出").click()
        expect(self.page.get_by_label("用户名")).to_be_visible()
        assert self.page.evaluate("sessionStorage.getItem('smps.token')") is None

    def check(self, name: str) -> None:
        """Screenshot and axe-core: no serious or critical violation."""
        self.page.wait_for_load_state("networkidle")
        self.page.screenshot(path=str(self.artifacts / f"{name}.png"), full_page=True)
        if not self.page.evaluate("typeof axe !== 'undefined'"):
            self.page.add_script_tag(path=str(AXE))
        result: dict[str, Any] = self.page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert not bad, f"{name}: " + json.dumps([(v["id"], v["nodes"][0]["html"]) for v in bad], ensure_ascii=False)
        self.checked[name] = [f"{v['id']} ({v['impact']})" for v in result["violations"]]

    def fieldset(self, legend: str) -> Locator:
        return self.page.locator("fieldset").filter(has=self.page.locator("legend", has_text=legend))

    def downloaded(self, click: Callable[[], None], name: str) -> bytes:
        """The file a button opens (a Blob fetched with the token, handed over as a download); kept as an artifact."""
        with self.page.expect_download() as info:
            click()
        download = info.value
        path = self.artifacts / f"{name}-{download.suggested_filename}"
        download.save_as(path)
        return path.read_bytes()

    def pdf(self, click: Callable[[], None], name: str) -> None:
        body = self.downloaded(click, name)
        assert body.startswith(b"%PDF-"), body[:32]
