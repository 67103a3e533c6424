// The provincial reviewer: the queue, one application's review (each paper sign-off verified on its own,
// with its stamped page), then recommend / return / reject as the API offers them.
import { ok, readApplication, type Schemas, smps } from "./api";
import { signOffTable } from "./applicant";
import { labelOf, t } from "./i18n";
import { go, link } from "./nav";
import { badge, button, field, h, noticeBox, openDownload, showProblem, table } from "./ui";

type Application = Schemas["ApplicationPublic"];
type Endorsement = Schemas["EndorsementPublic"];

export async function reviewPage(main: HTMLElement): Promise<void> {
  const queue = ok(await smps.api.GET("/api/v1/applications", { params: { query: { state: ["provincial_review"] } } }), "queue");
  const batches = ok(await smps.api.GET("/api/v1/batches"), "batches");
  const calls = ok(await smps.api.GET("/api/v1/calls"), "calls");
  const notice = noticeBox();
  const newList = h("div", { class: "actions" }, ...calls.map((c) => button(`${t("newList")}：${c.name}`, async () => {
    try {
      go(`lists/${ok(await smps.api.POST("/api/v1/batches", { body: { call_id: c.id } }), "batch").id}`);
    } catch (error) {
      showProblem(main, notice, error);
    }
  })));
  main.replaceChildren(h("h1", {}, t("queue")), queue.items.length ? table([t("title"), t("state"), t("actions")],
    queue.items.map((a) => [a.title, badge("state", a.state), link(`review/${a.id}`, `${t("review")} ${a.title}`)]), t("queue"))
    : h("p", {}, t("none")), h("h2", {}, t("list")), table([t("list"), t("state"), t("items"), t("tracking")],
    batches.items.map((b) => [link(`lists/${b.id}`, b.id), badge("batch", b.state), String(b.item_count), b.tracking_number ?? "—"]),
    t("list")), newList, notice);
}

export async function reviewApplicationPage(main: HTMLElement, id: string): Promise<void> {
  const app = await readApplication(id);
  const endorsements = ok(await smps.api.GET("/api/v1/applications/{application_id}/endorsements",
    { params: { path: { application_id: id } } }), "endorsements");
  const papers = endorsements.filter((e) => e.mode === "paper" && !e.voided);
  const verifying = app.allowed_actions.includes("verify_paper_endorsement");
  main.replaceChildren(h("p", {}, link("review", `← ${t("queue")}`)), h("h1", {}, app.title),
    h("p", {}, `${t("state")}：`, badge("state", app.state)),
    h("div", { class: "actions" }, button(t("formPdf"), async () => openDownload(await smps.formPdf(id)))),
    signOffTable(app), h("h2", {}, t("verifyTitle")),
    papers.length === 0 ? h("p", {}, t("noPaper")) : h("div", {}, ...papers.map((e) => paperCard(app, e, verifying))),
    decisionForm(app));
}

/** One paper sign-off: who signed, its stamped page (opened as a Blob), and confirm / reject with a reason. */
function paperCard(app: Application, e: Endorsement, verifying: boolean): HTMLElement {
  const party = labelOf("party", e.party_role);
  const heading = `${t("verifyTitle")} · ${party}`;
  const notice = noticeBox();
  const card = h("section", { class: "card", "aria-label": heading, "data-endorsement": e.id, "data-role": e.party_role },
    h("h3", {}, heading),
    h("p", {}, `${t("signatoryName")}：${e.signatory_name}${e.signatory_title ? `（${e.signatory_title}）` : ""} · `,
      `${t("opinion")}：${e.opinion}`),
    h("p", {}, `${t("verification")}：`, h("strong", { class: "verification", "data-state": e.verification ?? "" },
      labelOf("verification", e.verification)), e.verification_comment ? ` · ${e.verification_comment}` : ""));
  const attachment = e.attachment_id;
  if (attachment) {
    card.append(button(t("viewPage"), async () => {
      try {
        openDownload(await smps.attachmentContent(attachment));
      } catch (error) {
        showProblem(card, notice, error);
      }
    }, { "aria-label": `${t("viewPage")} · ${party}` }));
  }
  if (verifying && e.verification === "pending") {
    const comment = h("textarea", { name: "verification-comment", rows: 2, maxlength: 2000 });
    const verify = (verdict: "confirmed" | "rejected") => async () => {
      const reason = comment.value.trim();
      if (verdict === "rejected" && reason === "") {
        const slot = card.querySelector<HTMLElement>("[data-pointer='/comment']");
        if (slot) slot.textContent = t("reasonRequired");
        comment.setAttribute("aria-invalid", "true");
        comment.focus();
        return;
      }
      try {
        await readApplication(app.id);
        ok(await smps.api.POST("/api/v1/applications/{application_id}/endorsements/{endorsement_id}/verification", {
          params: { path: { application_id: app.id, endorsement_id: e.id },
            header: { "if-match": smps.applicationEtag(app.id) } },
          body: { verdict, comment: reason || null },
        }), "verify");
        go(`review/${app.id}`);
      } catch (error) {
        showProblem(card, notice, error);
      }
    };
    card.append(field(t("verifyComment"), comment, "/comment"), h("div", { class: "actions" },
      button(t("confirmPaper"), verify("confirmed")), button(t("rejectPaper"), verify("rejected"))));
  }
  card.append(notice);
  return card;
}

/** The review decision: only the steps the API offers now (`allowed_actions`). */
function decisionForm(app: Application): HTMLElement {
  const offered = (["recommend", "return", "reject"] as const).filter((d) => app.allowed_actions.includes(d));
  const opinion = h("textarea", { name: "opinion", rows: 3, maxlength: 2000 });
  const notice = noticeBox();
  const form = h("section", { class: "card", "aria-labelledby": "decision-title" }, h("h2", { id: "decision-title" }, t("reviewOpinion")));
  if (offered.length === 0) {
    form.append(h("p", {}, t("none")));
    return form;
  }
  const label = { recommend: t("recommend"), return: t("returnIt"), reject: t("reject") };
  const decide = (decision: "recommend" | "return" | "reject") => async () => {
    try {
      await readApplication(app.id);
      ok(await smps.api.POST("/api/v1/applications/{application_id}/reviews", {
        params: { path: { application_id: app.id }, header: { "if-match": smps.applicationEtag(app.id) } },
        body: { decision, opinion: opinion.value.trim() || null },
      }), decision);
      go(`review/${app.id}`);
    } catch (error) {
      showProblem(form, notice, error);
    }
  };
  form.append(field(t("decision"), opinion, "/opinion"),
    h("div", { class: "actions" }, ...offered.map((d) => button(label[d], decide(d), { "data-decision": d }))), notice);
  return form;
}
