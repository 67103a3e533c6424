"""The whole flow through the portal in Debian's chromium (no browser download), against a live server
loaded with the demo data: the applicant drafts, saves sections (a field error shown beside its field),
uploads (attachment kinds by their labels, in Chinese and English), opens form.pdf and submits; four
parties sign (the guarantor on paper); the reviewer opens the stamped page, confirms one paper sign-off
and rejects another with a reason, recommends only where the API offers it, returns an application,
ranks the list by keyboard (Alt+↑/↓ on the row, announced) and by drag and drop, submits it and opens
the receipt and the list as PDFs; the office returns the list (退回), the reviewer sees it returned and
submits it again, the office acknowledges it and records one approval and one 不予批准, which the
applicant sees; the admin checks a credit code as it is typed and creates a user and an API key (shown
once). Every page passes axe-core with no serious or critical violation; screenshots and the downloaded
files go to $SMPS_E2E_ARTIFACTS (a temporary directory unless set)."""

import json
import os
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from app.core.settings import Settings
from app.demo import create_demo
from app.reference.labels import ATTACHMENT_KINDS
from app.reference.seed import DEFAULT_ATTACHMENT_RULES
from tests.attachments import files
from tests.portal.api_flow import in_review_over_the_api, recommended_over_the_api
from tests.portal.browser import AXE, CHROMIUM, FLAGS, Portal
from tests.races.live import LiveServer

PORTAL_TITLE = "历下区政务服务标准化试点（门户）"
LISTED_TITLE = "历城区公共服务标准化试点（接口）"
REJECTED_TITLE = "章丘区社区服务标准化试点（纸质驳回）"
KINDS_EN = {"application_form_scan": "Stamped application form scan", "other": "Other material"}


@pytest.fixture
def server(settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is needed (.ci/run installs it)")
    assert AXE.is_file(), "run `npm ci` in portal/ (.ci/run does)"
    live = LiveServer(settings, tmp_path / "server.log")
    yield live
    live.stop()


def applicant_drafts_and_submits(portal: Portal, demo: dict[str, object], scan: Path) -> str:
    page = portal.page
    portal.sign_in("demo_applicant")
    expect(page.get_by_role("heading", name="我的申请")).to_be_visible()
    portal.check("10-applicant-applications")
    page.get_by_role("link", name="新建申请").click()
    page.get_by_label("项目名称").fill(PORTAL_TITLE)
    page.get_by_label("领域（如 1.1）").fill("1.1")
    page.get_by_label("方向（如 1.1.3）").fill("1.1.3")
    page.get_by_label("推荐单位").select_option(str(demo["recommender_id"]))
    orgs = demo["organizations"]
    assert isinstance(orgs, dict)
    page.get_by_label("参加单位").select_option(orgs["demo-participating"])
    page.get_by_label("保证单位").select_option(orgs["demo-guarantor"])
    page.get_by_label("业务指导单位").select_option(orgs["demo-guidance"])
    portal.check("11-applicant-new")
    page.get_by_role("button", name="创建").click()
    expect(page.locator(".state")).to_have_attribute("data-state", "draft")
    expect(page.locator(".state")).to_have_text("草稿")
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
    # The call's attachment kinds (its attachment_rules), each by the label the service itself uses.
    kind = page.get_by_label("附件类型")
    for code in DEFAULT_ATTACHMENT_RULES:
        expect(kind.locator(f"option[value='{code}']")).to_have_text(ATTACHMENT_KINDS[code])
    kind.select_option(label="申请书盖章扫描件")
    page.get_by_label("上传", exact=True).set_input_files(str(scan))
    expect(page.get_by_role("cell", name="申请书盖章扫描件")).to_be_visible()
    expect(page.get_by_role("cell", name="application_form_scan")).to_have_count(0)
    expect(page.get_by_text("可以提交")).to_be_visible()
    portal.check("13-applicant-form")
    page.get_by_role("button", name="切换语言").click()
    for code, label in KINDS_EN.items():
        expect(page.get_by_label("Kind").locator(f"option[value='{code}']")).to_have_text(label)
    expect(page.get_by_role("cell", name=KINDS_EN["application_form_scan"])).to_be_visible()
    portal.check("13-applicant-form-english")
    page.get_by_role("button", name="Switch language").click()
    expect(page.get_by_label("附件类型")).to_be_visible()
    portal.pdf(lambda: page.get_by_role("button", name="查看申请书 PDF").click(), "form")
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".state")).to_have_attribute("data-state", "endorsing")
    portal.check("14-applicant-submitted")
    return application_id


def parties_sign(portal: Portal, paper: Path) -> None:
    """The undertaking unit (the applicant is its signatory), two more online; the guarantor's on paper,
    its stamped page uploaded by the applicant."""
    page = portal.page

    def open_signing() -> None:
        page.goto(f"{portal.url}/portal/sign-offs")
        page.get_by_role("link", name=PORTAL_TITLE).click()
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


def reviewer_verifies_and_decides(portal: Portal) -> None:
    """The portal's application: its stamped page opened, confirmed, recommended (then no longer offered).
    The one in review over the API: its paper sign-off rejected with a reason (required), recommending it
    then no longer offered, returned with an opinion (required)."""
    page = portal.page
    portal.sign_in("demo_reviewer")
    portal.check("30-reviewer-queue")
    page.get_by_role("link", name=f"审核 {PORTAL_TITLE}").click()
    card = page.locator("section[data-role=guarantor]")
    expect(card.locator(".verification")).to_have_attribute("data-state", "pending")
    portal.pdf(lambda: card.get_by_role("button", name="查看盖章页 · 保证单位").click(), "stamped-page")
    portal.check("31-reviewer-verify")
    card.get_by_label("核验意见").fill("与原件一致")
    card.get_by_role("button", name="确认一致").click()
    expect(card.locator(".verification")).to_have_attribute("data-state", "confirmed")
    expect(card.get_by_role("button", name="确认一致")).to_have_count(0)
    expect(card).to_contain_text("与原件一致")
    page.get_by_label("意见", exact=True).fill("同意推荐")
    page.locator("[data-decision=recommend]").click()
    expect(page.locator(".state")).to_have_attribute("data-state", "recommended")
    expect(page.locator("[data-decision]")).to_have_count(0)  # recommended: the API offers no review step now
    portal.check("32-reviewer-recommended")
    page.get_by_role("button", name="切换语言").click()
    expect(page.get_by_role("heading", name="Paper sign-off verification", exact=True)).to_be_visible()
    expect(card.locator(".verification")).to_have_text("Matches")
    expect(page.locator(".state")).to_have_text("Recommended")
    portal.check("32-reviewer-recommended-english")
    page.get_by_role("button", name="Switch language").click()
    expect(page.get_by_role("heading", name="纸质签章核验", exact=True)).to_be_visible()

    page.goto(f"{portal.url}/portal/review")
    page.get_by_role("link", name=f"审核 {REJECTED_TITLE}").click()
    card = page.locator("section[data-role=guarantor]")
    card.get_by_role("button", name="驳回（不一致）").click()
    expect(card.locator("[data-pointer='/comment']")).to_have_text("驳回须说明理由")
    card.get_by_label("核验意见").fill("盖章页与原件不符")
    card.get_by_role("button", name="驳回（不一致）").click()
    expect(card.locator(".verification")).to_have_attribute("data-state", "rejected")
    expect(card).to_contain_text("盖章页与原件不符")
    # a paper sign-off stands rejected: the API no longer offers recommend, and the portal shows no such button
    expect(page.locator("[data-decision=recommend]")).to_have_count(0)
    page.locator("[data-decision=return]").click()
    expect(page.locator("[data-pointer='/opinion']")).not_to_be_empty()
    portal.check("33-reviewer-paper-rejected")
    page.get_by_label("意见", exact=True).fill("请重新办理保证单位签章")
    page.locator("[data-decision=return]").click()
    expect(page.locator(".state")).to_have_attribute("data-state", "returned")


def reviewer_ranks_and_submits(portal: Portal) -> str:
    page = portal.page
    page.goto(f"{portal.url}/portal/review")
    page.get_by_role("button", name="新建名单：练习征集批次（演示）").click()
    page.get_by_role("button", name=f"加入名单 {PORTAL_TITLE}").click()
    page.get_by_role("button", name=f"加入名单 {LISTED_TITLE}").click()
    ranked = page.locator("ol.ranked li")
    expect(ranked).to_have_count(2)
    expect(ranked.first).to_contain_text("历下区")
    # By keyboard on the row itself: Alt+↑ moves the focused row up, keeps the focus on it, and says so.
    ranked.nth(1).focus()
    page.keyboard.press("Alt+ArrowUp")
    expect(ranked.first).to_contain_text("历城区")
    expect(page.locator("ol.ranked li:focus")).to_contain_text("历城区")
    expect(page.locator(".announce")).to_have_text(f"{LISTED_TITLE}：已移至第 1 位")
    portal.check("34-reviewer-list-keyboard")
    page.keyboard.press("Alt+ArrowDown")
    expect(ranked.first).to_contain_text("历下区")
    expect(page.locator(".announce")).to_have_text(f"{LISTED_TITLE}：已移至第 2 位")
    # By drag and drop, and back by the up button pressed with Enter.
    ranked.nth(1).drag_to(ranked.first)
    expect(ranked.first).to_contain_text("历城区")
    page.get_by_role("button", name=f"上移 {PORTAL_TITLE}").focus()
    page.keyboard.press("Enter")
    expect(ranked.first).to_contain_text("历下区")
    portal.check("35-reviewer-list")
    page.get_by_role("button", name="提交名单").click()
    expect(page.locator(".state")).to_have_attribute("data-state", "submitted")
    portal.pdf(lambda: page.get_by_role("button", name="回执 PDF").click(), "receipt")
    portal.pdf(lambda: page.get_by_role("button", name="名单 PDF").click(), "list")
    package = portal.downloaded(lambda: page.get_by_role("button", name="电子版 ZIP").click(), "package")
    assert package.startswith(b"PK\x03\x04"), package[:8]
    portal.check("36-reviewer-submitted")
    list_url = page.url
    portal.sign_out()
    return list_url


def office_returns_then_decides(portal: Portal, list_url: str) -> None:
    page = portal.page
    portal.sign_in("demo_office")
    portal.check("40-office-incoming")
    page.get_by_label("退回意见").fill("请补充推荐理由后重新报送")
    page.get_by_role("button", name="退回", exact=True).click()
    expect(page.locator("td .state")).to_have_attribute("data-state", "returned")
    portal.sign_out()

    portal.sign_in("demo_reviewer")
    page.goto(list_url)
    expect(page.locator(".state")).to_have_attribute("data-state", "returned")
    expect(page.locator(".returned")).to_contain_text("请补充推荐理由后重新报送")
    portal.check("37-reviewer-list-returned")
    page.get_by_role("button", name="提交名单").click()
    expect(page.locator(".state")).to_have_attribute("data-state", "submitted")
    portal.sign_out()

    portal.sign_in("demo_office")
    page.get_by_role("button", name="受理").click()
    approved = portal.fieldset(PORTAL_TITLE)
    approved.get_by_label("文号").fill("国标委发〔2027〕5号")
    approved.get_by_role("button", name="保存本节").click()
    expect(approved).to_have_count(0)  # approved: nothing left to decide
    declined = portal.fieldset(LISTED_TITLE)
    declined.get_by_label("结果").select_option(label="不予批准")
    portal.check("41-office-outcome")
    declined.get_by_role("button", name="保存本节").click()
    expect(declined).to_have_count(0)
    page.get_by_role("link", name="练习征集批次（演示）").click()
    expect(page.get_by_role("heading", name="汇总 · 练习征集批次（演示）")).to_be_visible()
    expect(page.locator("figure svg")).to_have_count(3)
    portal.check("42-office-summary")
    portal.sign_out()

    portal.sign_in("demo_applicant")
    row = page.get_by_role("row").filter(has_text=LISTED_TITLE)
    expect(row.locator(".state")).to_have_attribute("data-state", "not_approved")
    expect(row.locator(".state")).to_have_text("不予批准")
    row.get_by_role("link", name=LISTED_TITLE).click()
    expect(page.locator(".state")).to_have_text("不予批准")
    # a closed application's form is read-only: its fields and its row buttons alike
    expect(page.get_by_role("button", name="增加一行")).to_be_disabled()
    expect(page.get_by_label("项目名称")).to_be_disabled()
    portal.check("15-applicant-not-approved")
    portal.sign_out()


def admin_creates(portal: Portal, url: str) -> None:
    """A credit code checked as it is typed; a user; an API key, shown once, that works."""
    page = portal.page
    portal.sign_in("demo_admin")
    page.get_by_label("统一社会信用代码").fill("91350100M000100Y43")
    expect(page.locator("#credit-status")).to_have_text("校验通过")
    page.get_by_label("统一社会信用代码").fill("91350100M000100Y44")
    expect(page.locator("#credit-status")).to_have_text("校验码不正确")
    portal.check("50-admin")
    users = portal.fieldset("用户与角色")
    users.get_by_label("用户名").fill("portal_reviewer2")
    users.get_by_label("显示名称").fill("门户新审核人")
    users.get_by_label("密码").fill("Portal-Reviewer-2027")
    users.get_by_label("电子邮箱").fill("reviewer2@example.cn")
    users.get_by_label("审核人").check()
    users.get_by_role("button", name="创建").click()
    expect(page.get_by_role("row").filter(has_text="portal_reviewer2")).to_contain_text("审核人")
    keys = portal.fieldset("API 密钥")
    keys.get_by_label("名称").fill("门户测试密钥")
    keys.get_by_role("button", name="创建").click()
    secret = keys.locator(".secret code")
    expect(secret).to_be_visible()
    key = secret.inner_text().strip()
    portal.check("51-admin-key-shown")
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as api:
        assert api.get("/api/v1/me").json()["username"] == "demo_admin"
    page.reload()
    expect(page.get_by_role("cell", name="门户测试密钥")).to_be_visible()
    expect(page.locator(".secret code")).to_have_count(0)  # shown once
    expect(page.get_by_text(key)).to_have_count(0)
    page.get_by_role("button", name="切换语言").click()
    expect(page.get_by_role("heading", name="Organizations")).to_be_visible()
    portal.check("52-admin-english")


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
            context = browser.new_context(
                bypass_csp=True, locale="zh-CN", accept_downloads=True
            )  # axe-core is injected
            page = context.new_page()
            portal = Portal(page, server.url, demo["password"], artifacts)
            page.goto(f"{server.url}/portal/")
            portal.check("00-sign-in")
            application_id = applicant_drafts_and_submits(portal, demo, scan)
            parties_sign(portal, paper)
            second = recommended_over_the_api(server.url, demo, scan, paper, LISTED_TITLE)
            third, _ = in_review_over_the_api(server.url, demo, scan, paper, REJECTED_TITLE)
            reviewer_verifies_and_decides(portal)
            list_url = reviewer_ranks_and_submits(portal)
            office_returns_then_decides(portal, list_url)
            admin_creates(portal, server.url)
        finally:
            browser.close()

    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {keys['demo_applicant']}"}) as api:
        states = {i: api.get(f"/api/v1/applications/{i}").json()["state"] for i in (application_id, second, third)}
    assert states == {application_id: "approved", second: "not_approved", third: "returned"}, states
    (artifacts / "axe.json").write_text(json.dumps(portal.checked, indent=1))
