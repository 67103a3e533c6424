// The signatory: applications awaiting my organization's sign-off; read-only with the content digest; sign.
import { ok, readApplication, type Schemas, smps, currentUser } from "./api";
import { signOffTable } from "./applicant";
import { labelOf, language, t } from "./i18n";
import { go, link } from "./nav";
import { button, field, h, noticeBox, showProblem, table } from "./ui";

type Role = Schemas["EndorsementRequest"]["role"];

export async function signOffsPage(main: HTMLElement): Promise<void> {
  const page = ok(await smps.api.GET("/api/v1/applications", { params: { query: { state: ["endorsing"] } } }), "list");
  main.replaceChildren(h("h1", {}, t("awaiting")), page.items.length === 0 ? h("p", {}, t("none")) : table(
    [t("title"), t("state")], page.items.map((a) => [link(`sign-offs/${a.id}`, a.title), labelOf("state", a.state)]), t("awaiting")));
}

export async function signOffPage(main: HTMLElement, id: string): Promise<void> {
  const app = await readApplication(id);
  const me = await currentUser();
  const mine = app.sign_offs.find((s) => s.organization_id === me.organization_id && s.status === "pending");
  const call = ok(await smps.api.GET("/api/v1/calls/{call_id}", { params: { path: { call_id: app.call_id } } }), "call");
  const en = language() === "en";
  const titles = new Map(call.sections.map((s) => [s.key, en ? s.title_en : s.title]));
  const sections = Object.entries(app.sections).map(([key, text]) => h("div", {}, h("h3", {}, titles.get(key) ?? key), h("p", {}, text)));
  main.replaceChildren(h("h1", {}, app.title),
    h("p", {}, `${t("digest")}：`, h("code", { class: "digest" }, app.content_digest ?? "—")),
    signOffTable(app), h("section", { class: "card readonly", "aria-label": t("sections") }, h("h2", {}, t("sections")), ...sections));
  if (mine) main.append(signForm(id, mine, me.display_name, true));
  // The applicant records another party's paper sign-off: its stamped page, uploaded with the application's files.
  if (me.roles.includes("applicant") && app.undertaking_org_id === me.organization_id) {
    for (const slot of app.sign_offs.filter((s) => s.status === "pending" && s !== mine)) {
      main.append(signForm(id, slot, "", false));
    }
  }
}

function signForm(id: string, slot: Schemas["SignOff"], signatory: string, online: boolean): HTMLElement {
  const decision = h("select", { name: "decision" }, h("option", { value: "agree" }, t("agree")),
    h("option", { value: "disagree" }, t("disagree")));
  const opinion = h("textarea", { name: "opinion", rows: 3 });
  opinion.value = t("defaultOpinion");
  const name = h("input", { name: "signatory_name", value: signatory });
  const title = h("input", { name: "signatory_title" });
  const page = h("input", { type: "file", name: "page", accept: ".pdf,.jpg,.jpeg,.png" });
  const notice = noticeBox();
  const heading = `${t("decision")} · ${labelOf("party", slot.role)}`;
  const form = h("section", { class: "card", "aria-label": heading, "data-role": slot.role }, h("h2", {}, heading),
    field(t("decision"), decision, "/decision"), field(t("opinion"), opinion, "/opinion"),
    field(t("signatoryName"), name, "/signatory_name"), field(t("signatoryTitle"), title, "/signatory_title"), notice);
  const sign = async (paper: boolean): Promise<void> => {
    try {
      await readApplication(id);
      let attachmentId: string | null = null;
      if (paper) {
        const file = page.files?.[0];
        if (!file) throw new Error(t("signPaper"));
        attachmentId = (await smps.upload(id, { kind: "paper_endorsement", file, filename: file.name })).attachment.id;
      }
      const role: Role = slot.role === "undertaking" || slot.role === "participating" || slot.role === "guarantor"
        ? slot.role : "guidance";
      ok(await smps.api.POST("/api/v1/applications/{application_id}/endorsements", {
        params: { path: { application_id: id }, header: { "if-match": smps.applicationEtag(id) } },
        body: { role, organization_id: slot.organization_id, decision: decision.value === "agree" ? "agree" : "disagree",
          opinion: opinion.value, signatory_name: name.value, signatory_title: title.value || null,
          mode: paper ? "paper" : "online", attachment_id: attachmentId },
      }), "sign");
      go(`sign-offs/${id}`);
    } catch (error) {
      showProblem(form, notice, error);
    }
  };
  if (online) form.append(button(t("signOnline"), () => sign(false)));
  form.append(field(t("signPaper"), page, "/attachment_id"), button(t("signPaper"), () => sign(true)));
  return form;
}
