// The applicant: my applications, a new draft, the guided form saved per section, validation, attachments, submit.
import { SmpsError } from "@smps/client";
import { calls, ok, readApplication, type Schemas, smps } from "./api";
import { labelOf, t } from "./i18n";
import { go, link } from "./nav";
import { standardsEditor } from "./standards";
import { badge, beijing, button, field, h, noticeBox, notify, openDownload, showProblem, table } from "./ui";

type Application = Schemas["ApplicationPublic"];
const STATES: Schemas["State"][] = ["draft", "endorsing", "provincial_review", "returned", "recommended", "rejected", "approved",
  "not_approved"];

export async function applicationsPage(main: HTMLElement): Promise<void> {
  const known = await calls();
  const params = new URLSearchParams(location.search);
  const callSelect = h("select", { name: "call" }, h("option", { value: "" }, t("all")),
    ...known.map((c) => h("option", { value: c.id, selected: params.get("call") === c.id }, c.name)));
  const stateSelect = h("select", { name: "state" }, h("option", { value: "" }, t("all")),
    ...STATES.map((s) => h("option", { value: s, selected: params.get("state") === s }, labelOf("state", s))));
  const results = h("div", {});
  const load = async (): Promise<void> => {
    const query: { call_id?: string; state?: Schemas["State"][] } = {};
    if (callSelect.value) query.call_id = callSelect.value;
    const chosen = STATES.find((s) => s === stateSelect.value);
    if (chosen) query.state = [chosen];
    const page = ok(await smps.api.GET("/api/v1/applications", { params: { query } }), "applications");
    results.replaceChildren(page.items.length === 0 ? h("p", {}, t("none")) : table(
      [t("title"), t("state"), t("submittedAt")],
      page.items.map((a) => [link(`applications/${a.id}`, a.title), badge("state", a.state), beijing(a.updated_at)]), t("applications")));
  };
  const filters = h("form", { class: "filters" }, field(t("call"), callSelect, "query:/call_id"),
    field(t("state"), stateSelect, "query:/state"), h("button", { type: "submit" }, t("filter")));
  filters.addEventListener("submit", (e) => { e.preventDefault(); void load(); });
  main.replaceChildren(h("h1", {}, t("applications")), link("applications/new", t("newApplication")), filters, results);
  await load();
}

export async function newApplicationPage(main: HTMLElement): Promise<void> {
  const known = await calls();
  const orgs = ok(await smps.api.GET("/api/v1/organizations", { params: { query: { page_size: 500 } } }), "orgs").items;
  const options = (recommenders: boolean) => [h("option", { value: "" }, "—"),
    ...orgs.filter((o) => (o.recommender_kind !== null && o.recommender_kind !== undefined) === recommenders)
      .map((o) => h("option", { value: o.id }, o.name))];
  const call = h("select", { name: "call_id" }, ...known.map((c) => h("option", { value: c.id }, c.name)));
  const title = h("input", { name: "title", required: true });
  const area = h("input", { name: "area" });
  const item = h("input", { name: "item" });
  const recommender = h("select", { name: "recommender_id" }, ...options(true));
  const participating = h("select", { name: "participating" }, ...options(false));
  const guarantor = h("select", { name: "guarantor" }, ...options(false));
  const guidance = h("select", { name: "guidance" }, ...options(false));
  const notice = noticeBox();
  const form = h("form", { class: "card" }, h("h1", {}, t("newApplication")),
    field(t("call"), call, "/call_id"), field(t("title"), title, "/title"),
    field(t("domainArea"), area, "/domain/area"), field(t("domainItem"), item, "/domain/item"),
    field(t("recommender"), recommender, "/recommender_id"), field(t("participating"), participating, "/parties/participating"),
    field(t("guarantor"), guarantor, "/parties/guarantor"), field(t("guidance"), guidance, "/parties/guidance"),
    h("button", { type: "submit" }, t("create")), notice);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const body: Schemas["ApplicationCreate"] = {
      call_id: call.value, title: title.value,
      domain: area.value ? { area: area.value, item: item.value || null } : null,
      recommender_id: recommender.value || null,
      parties: { participating: participating.value ? [participating.value] : [], guarantor: guarantor.value || null,
        guidance: guidance.value || null },
    };
    smps.api.POST("/api/v1/applications", { body }).then((r) => go(`applications/${ok(r, "create").id}`),
      (error: unknown) => showProblem(form, notice, error)).catch((error: unknown) => showProblem(form, notice, error));
  });
  main.replaceChildren(form);
}

/** One section of the form: its fields, saved alone as a merge patch with If-Match. */
function section(app: Application, legend: string, controls: HTMLElement[], patch: () => Schemas["ApplicationPatch"],
  editable: boolean): HTMLElement {
  const notice = noticeBox();
  const box = h("fieldset", { class: "card" }, h("legend", {}, legend), ...controls, notice);
  if (!editable) {
    box.setAttribute("disabled", ""); // a disabled fieldset disables every control in it, its buttons too
    return box;
  }
  box.append(button(t("save"), async () => {
    try {
      ok(await smps.api.PATCH("/api/v1/applications/{application_id}", {
        params: { path: { application_id: app.id }, header: { "if-match": smps.applicationEtag(app.id) } },
        body: patch(),
      }), "save");
      showProblem(box, notice, null);
      notify(notice, t("saved"));
    } catch (error) {
      showProblem(box, notice, error);
    }
  }));
  return box;
}

export async function applicationPage(main: HTMLElement, id: string): Promise<void> {
  const app = await readApplication(id);
  const call = ok(await smps.api.GET("/api/v1/calls/{call_id}", { params: { path: { call_id: app.call_id } } }), "call");
  const editable = app.allowed_actions.includes("edit") || app.state === "draft" || app.state === "returned";
  const en = document.documentElement.lang === "en";
  const contactName = h("input", { name: "contact-name", value: app.contact?.name ?? "" });
  const phone = h("input", { name: "phone", type: "tel", value: app.contact?.phone ?? "" });
  const email = h("input", { name: "email", type: "email", value: app.contact?.email ?? "" });
  const start = h("input", { name: "start", type: "date", value: app.period?.start ?? "" });
  const end = h("input", { name: "end", type: "date", value: app.period?.end ?? "" });
  const title = h("input", { name: "title", value: app.title });
  const written: Record<string, string | undefined> = app.sections;
  const texts = call.sections.map((s) => {
    const area = h("textarea", { name: s.key, rows: 4, maxlength: s.max_length });
    area.value = written[s.key] ?? "";
    return { key: s.key, area, label: en ? s.title_en : s.title };
  });
  const standards = standardsEditor(app.standards);
  const amount = h("input", { name: "amount", type: "number", min: 0, value: app.funding?.amount_cny ?? "" });
  const sources = h("input", { name: "sources", value: app.funding?.sources ?? "" });
  const conditions = call.conditions.map((c) => h("input", { type: "checkbox", name: `condition-${c.number}`,
    checked: app.eligibility.some((e) => e.condition === c.number && e.attested) }));
  const validation = h("section", { class: "card", "aria-labelledby": "validation-title" });
  const parts = [
    section(app, t("basic"), [field(t("title"), title, "/title")], () => ({ title: title.value }), editable),
    section(app, t("contact"), [field(t("contactName"), contactName, "/contact/name"), field(t("phone"), phone, "/contact/phone"),
      field(t("email"), email, "/contact/email")],
    () => ({ contact: { name: contactName.value, phone: phone.value, email: email.value } }), editable),
    section(app, t("period"), [field(t("start"), start, "/period/start"), field(t("end"), end, "/period/end")],
      () => ({ period: { start: start.value, end: end.value } }), editable),
    section(app, t("sections"), texts.map((x) => field(x.label, x.area, `/sections/${x.key}`)),
      () => ({ sections: Object.fromEntries(texts.map((x) => [x.key, x.area.value])) }), editable),
    section(app, t("standards"), standards.controls, () => ({ standards: standards.rows() }), editable),
    section(app, t("funding"), [field(t("amount"), amount, "/funding/amount_cny"), field(t("sources"), sources, "/funding/sources")],
      () => ({ funding: { amount_cny: Number(amount.value), sources: sources.value } }), editable),
    section(app, t("eligibility"), call.conditions.map((c, i) => field(`${c.number}. ${en ? c.text_en : c.text}`,
      conditions[i] ?? h("input"), `/eligibility/${i}`)),
    () => ({ eligibility: call.conditions.map((c, i) => ({ condition: c.number, attested: conditions[i]?.checked ?? false })) }),
    editable),
  ];
  const notice = noticeBox();
  const actions = h("div", { class: "actions" },
    button(t("formPdf"), async () => openDownload(await smps.formPdf(app.id))));
  if (app.allowed_actions.includes("submit")) {
    actions.append(button(t("submit"), async () => {
      try {
        await readApplication(app.id);
        ok(await smps.api.POST("/api/v1/applications/{application_id}/transitions", {
          params: { path: { application_id: app.id }, header: { "if-match": smps.applicationEtag(app.id) } },
          body: { action: "submit" },
        }), "submit");
        go(`applications/${app.id}`);
      } catch (error) {
        showProblem(main, notice, error);
      }
    }));
  }
  main.replaceChildren(h("h1", {}, app.title), h("p", {}, `${t("state")}：`, badge("state", app.state)),
    actions, notice, signOffTable(app), ...parts, validation, await attachmentsBox(app, call, editable));
  await showValidation(validation, app.id);
}

export function signOffTable(app: Application): HTMLElement {
  return table([t("role"), t("status"), t("mode"), t("verification")],
    app.sign_offs.map((s) => [labelOf("party", s.role), labelOf("signoff", s.status), labelOf("mode", s.mode),
      labelOf("verification", s.verification)]), t("signOffs"));
}

async function showValidation(box: HTMLElement, id: string): Promise<void> {
  const report = ok(await smps.api.GET("/api/v1/applications/{application_id}/validation",
    { params: { path: { application_id: id } } }), "validation");
  box.replaceChildren(h("h2", { id: "validation-title" }, t("validation")),
    h("p", { class: report.valid ? "ok" : "notice-error" }, report.valid ? t("valid") : t("invalid")),
    h("ul", { class: "checklist" }, ...report.errors.map((e) => h("li", { class: "todo" }, `✗ ${e.message}`)),
      ...report.warnings.map((e) => h("li", {}, `! ${e.message}`))));
}

const TYPES = [".pdf", ".ofd", ".docx", ".xlsx", ".jpg", ".jpeg", ".png"];

async function attachmentsBox(app: Application, call: Schemas["CallPublic"], editable: boolean): Promise<HTMLElement> {
  const list = ok(await smps.api.GET("/api/v1/applications/{application_id}/attachments",
    { params: { path: { application_id: app.id } } }), "attachments").items;
  // The kinds the call takes (its attachment_rules), each by its label in the catalogue.
  const kinds = Object.keys(call.attachment_rules);
  const kind = h("select", { name: "kind" }, ...kinds.map((k) => h("option", { value: k }, labelOf("kind", k))));
  const input = h("input", { type: "file", name: "file", accept: TYPES.join(",") });
  const progress = h("progress", { max: 100, value: 0, "aria-label": t("uploading") });
  const notice = noticeBox();
  const box = h("section", { class: "card", "aria-labelledby": "attachments-title" }, h("h2", { id: "attachments-title" }, t("attachments")),
    table([t("kind"), t("name")], list.map((a) => [labelOf("kind", a.kind), a.filename]), t("attachments")));
  if (!editable) return box;
  const send = async (file: File): Promise<void> => {
    const max = 50 * 1024 * 1024;
    if (!TYPES.some((x) => file.name.toLowerCase().endsWith(x))) return notify(notice, `${t("fileType")}: ${file.name}`, true);
    if (file.size > max) return notify(notice, `${t("fileTooLarge")}: ${file.name}`, true);
    try {
      await readApplication(app.id);
      await smps.upload(app.id, { kind: kind.value, file, filename: file.name,
        onProgress: (sent, total) => { progress.value = total ? (100 * sent) / total : 0; } });
      go(`applications/${app.id}`);
    } catch (error) {
      if (error instanceof SmpsError) showProblem(box, notice, error);
      else notify(notice, String(error), true);
    }
  };
  const drop = h("div", { class: "drop", tabindex: "0", role: "group", "aria-label": t("dropHere") }, t("dropHere"));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const file = e.dataTransfer?.files[0];
    if (file) void send(file);
  });
  input.addEventListener("change", () => { const file = input.files?.[0]; if (file) void send(file); });
  box.append(field(t("kind"), kind, "/kind"), drop, field(t("upload"), input, "/file"), progress, notice);
  return box;
}
