"""The whole flow through the portal in Debian's chromium (no browser download), against a live server
loaded with the demo data: the applicant drafts, saves sections (a field error shown beside its field),
uploads and submits; four parties sign (the guarantor on paper); the reviewer verifies and recommends,
ranks and submits the list; the office acknowledges and records the outcome; the admin checks a credit
code as it is typed. Every page passes axe-core with no serious or critical violation; screenshots go to
$SMPS_E2E_ARTIFACTS (a temporary directory unless set)."""

import json
import os
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from app.core.settings import Settings
from app.demo import create_demo
from tests.attachments import files
from tests.conftest import ROOT_DIR
from tests.portal.api_flow import recommended_over_the_api
from tests.races.live import LiveServer

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

    def fieldset(self, legend: str):  # type: ignore[no-untyped-def]
        return self.page.locator("fieldset").filter(has=self.page.locator("legend", has_text=legend))


@pytest.fixture
def server(settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is needed (.ci/run installs it)")
    assert AXE.is_file(), "run `npm ci` in portal/ (.ci/run does)"
    live = LiveServer(settings, tmp_path / "server.log")
    yield live
    live.stop()


def test_every_role_walks_the_flow_through_the_portal(settings: Settings, server: LiveServer, tmp_path: Path) -> None:
    demo = create_demo(settings)
    artifacts = Path(os.environ.get("SMPS_E2E_ARTIFACTS") or tmp_path / "artifacts")
    artifacts.mkdir(parents=True, exist_ok=True)
    scan, paper = tmp_path / "申请书扫描件.pdf", tmp_path / "盖章页.pdf"
    scan.write_bytes(files.pdf(pages=2))
    paper.write_bytes(files.pdf(pages=1))
    server.start()
    keys = {u["username"]: u["api_key"] for u in demo["users"]}

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            context = browser.new_context(bypass_csp=True, locale="zh-CN")  # axe-core is injected as a script
            page = context.new_page()
            portal = Portal(page, server.url, demo["password"], artifacts)
            page.goto(f"{server.url}/portal/")
            portal.check("00-sign-in")

            # The applicant: a draft, saved section by section, a field error beside its field, a scan, submit.
            portal.sign_in("demo_applicant")
            expect(page.get_by_role("heading", name="我的申请")).to_be_visible()
            portal.check("10-applicant-applications")
            page.get_by_role("link", name="新建申请").click()
            page.get_by_label("项目名称").fill("历下区政务服务标准化试点（门户）")
            page.get_by_label("领域（如 1.1）").fill("1.1")
            page.get_by_label("方向（如 1.1.3）").fill("1.1.3")
            page.get_by_label("推荐单位").select_option(demo["recommender_id"])
            orgs = demo["organizations"]
            page.get_by_label("参加单位").select_option(orgs["demo-participating"])
            page.get_by_label("保证单位").select_option(orgs["demo-guarantor"])
            page.get_by_label("业务指导单位").select_option(orgs["demo-guidance"])
            portal.check("11-applicant-new")
            page.get_by_role("button", name="创建").click()
            expect(page.locator(".state")).to_have_text("draft")
            application_id = page.url.rsplit("/", 1)[1]
            contact = portal.fieldset("联系人")
            contact.get_by_label("姓名").fill("王芳")
            contact.get_by_label("电话").fill("12345")
            contact.get_by_label("电子邮箱").fill("wangfang@example.cn")
            contact.get_by_role("button", name="保存本节").click()
            expect(contact.locator("[data-pointer='/contact/phone']")).not_to_be_empty()
            portal.check("12-applicant-field-error")
            contact.get_by_label("电话").fill("13800138000")
            contact.get_by_role("button", name="保存本节").click()
            expect(contact.get_by_text("已保存")).to_be_visible()
            period = portal.fieldset("试点期限")
            period.get_by_label("开始日期").fill("2027-01-01")
            period.get_by_label("结束日期").fill("2028-12-31")
            period.get_by_role("button", name="保存本节").click()
            expect(period.get_by_text("已保存")).to_be_visible()
            sections = portal.fieldset("申请书正文")
            for area in sections.locator("textarea").all():
                area.fill("按试点实施方案推进，建立标准体系并组织实施。")
            sections.get_by_role("button", name="保存本节").click()
            expect(sections.get_by_text("已保存")).to_be_visible()
            funding = portal.fieldset("经费")
            funding.get_by_label("金额（元）").fill("1200000")
            funding.get_by_label("经费来源").fill("区财政专项资金")
            funding.get_by_role("button", name="保存本节").click()
            expect(funding.get_by_text("已保存")).to_be_visible()
            eligibility = portal.fieldset("申报条件")
            for box in eligibility.locator("input[type=checkbox]").all():
                box.check()
            eligibility.get_by_role("button", name="保存本节").click()
            expect(eligibility.get_by_text("已保存")).to_be_visible()
            standards = portal.fieldset("标准明细")
            standards.get_by_label("标准编号 1").fill("GB/T 32169.1-2015")
            standards.get_by_label("标准名称 1").fill("政务服务中心运行规范 第1部分：基本要求")
            standards.get_by_role("button", name="保存本节").click()
            expect(standards.get_by_text("已保存")).to_be_visible()
            page.reload()
            page.get_by_label("附件类型").select_option("application_form_scan")
            page.get_by_label("上传", exact=True).set_input_files(str(scan))
            expect(page.get_by_role("cell", name="application_form_scan")).to_be_visible()
            expect(page.get_by_text("可以提交")).to_be_visible()
            portal.check("13-applicant-form")
            page.get_by_role("button", name="提交").click()
            expect(page.locator(".state")).to_have_text("endorsing")
            portal.check("14-applicant-submitted")

            # Four sign-offs: the undertaking unit (the applicant is its signatory), two more online; the
            # guarantor's on paper, its stamped page uploaded by the applicant.
            def open_signing() -> None:
                page.goto(f"{server.url}/portal/sign-offs")
                page.get_by_role("link", name="历下区政务服务标准化试点（门户）").click()
                expect(page.locator(".digest")).to_be_visible()

            open_signing()
            portal.check("20-signatory-application")
            page.get_by_role("button", name="在线签章").click()
            expect(page.get_by_role("button", name="在线签章")).to_have_count(0)
            portal.sign_out()
            for username in ("demo_participating_signatory", "demo_guidance_signatory"):
                portal.sign_in(username)
                if username == "demo_participating_signatory":
                    portal.check("21-signatory-awaiting")
                open_signing()
                page.get_by_role("button", name="在线签章").click()
                expect(page.get_by_role("button", name="在线签章")).to_have_count(0)
                portal.sign_out()
            portal.sign_in("demo_applicant")
            open_signing()
            paper_form = page.locator("section[data-role=guarantor]")
            paper_form.get_by_label("签署人").fill("张伟")
            paper_form.get_by_label("职务").fill("区长")
            paper_form.get_by_label("上传盖章页（纸质签章）").set_input_files(str(paper))
            portal.check("22-signatory-paper")
            paper_form.locator("button", has_text="上传盖章页（纸质签章）").click()
            expect(page.locator("section[data-role=guarantor]")).to_have_count(0)
            portal.sign_out()

            # The reviewer: verify the paper page and recommend, then the list: add, rank, submit. A second
            # application, recommended over the API, gives the list two to rank.
            second = recommended_over_the_api(server.url, demo, scan, paper, "历城区公共服务标准化试点（接口）")
            portal.sign_in("demo_reviewer")
            portal.check("30-reviewer-queue")
            page.get_by_role("button", name="推荐").first.click()
            expect(page.get_by_text("暂无")).to_be_visible()
            page.get_by_role("button", name="新建名单：练习征集批次（演示）").click()
            page.get_by_role("button", name="加入名单 历下区政务服务标准化试点（门户）").click()
            page.get_by_role("button", name="加入名单 历城区公共服务标准化试点（接口）").click()
            ranked = page.locator("ol.ranked li")
            expect(ranked).to_have_count(2)
            expect(ranked.first).to_contain_text("历下区")
            # By keyboard: the second one's "move up" button, focused and pressed with Enter.
            page.get_by_role("button", name="上移 历城区公共服务标准化试点（接口）").focus()
            page.keyboard.press("Enter")
            expect(ranked.first).to_contain_text("历城区")
            # By drag and drop: the portal's own back to first.
            ranked.nth(1).drag_to(ranked.first)
            expect(ranked.first).to_contain_text("历下区")
            portal.check("31-reviewer-list")
            page.get_by_role("button", name="提交名单").click()
            page.wait_for_load_state("networkidle")
            expect(page.locator(".state")).to_have_text("submitted")
            portal.check("32-reviewer-submitted")
            portal.sign_out()

            # The office: acknowledge, record the outcome, the summary.
            portal.sign_in("demo_office")
            portal.check("40-office-incoming")
            page.get_by_role("button", name="受理").click()
            outcome = portal.fieldset("历下区政务服务标准化试点（门户）")
            outcome.get_by_label("文号").fill("国标委发〔2027〕5号")
            outcome.get_by_role("button", name="保存本节").click()
            expect(outcome).to_have_count(0)  # approved: nothing left to decide
            page.get_by_role("link", name="练习征集批次（演示）").click()
            page.wait_for_load_state("networkidle")
            expect(page.get_by_role("heading", name="汇总 · 练习征集批次（演示）")).to_be_visible()
            expect(page.locator("figure svg")).to_have_count(3)
            portal.check("41-office-summary")
            portal.sign_out()

            # The admin: a credit code checked as it is typed.
            portal.sign_in("demo_admin")
            page.get_by_label("统一社会信用代码").fill("91350100M000100Y43")
            expect(page.locator("#credit-status")).to_have_text("校验通过")
            page.get_by_label("统一社会信用代码").fill("91350100M000100Y44")
            expect(page.locator("#credit-status")).to_have_text("校验码不正确")
            portal.check("50-admin")
            page.get_by_role("button", name="切换语言").click()
            expect(page.get_by_role("heading", name="Organizations")).to_be_visible()
            portal.check("51-admin-english")
        finally:
            browser.close()

    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {keys['demo_office']}"}) as api:
        final = api.get(f"/api/v1/applications/{application_id}").json()
        listed = api.get(f"/api/v1/applications/{second}").json()
    assert final["state"] == "approved", final["state"]
    assert listed["state"] == "submitted", listed["state"]  # ranked second on the submitted list
    (artifacts / "axe.json").write_text(json.dumps(portal.checked, indent=1))
