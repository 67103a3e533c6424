// The joint office: incoming lists with tracking numbers, acknowledge or return, outcomes, the call summary.
import { ok, readApplication, smps } from "./api";
import { labelOf, t } from "./i18n";
import { go, link } from "./nav";
import { badge, beijing, button, field, h, noticeBox, showProblem, table } from "./ui";

export async function officePage(main: HTMLElement): Promise<void> {
  const batches = ok(await smps.api.GET("/api/v1/batches"), "batches").items.filter((b) => b.state !== "open");
  const calls = ok(await smps.api.GET("/api/v1/calls"), "calls");
  const names = new Map<string, string>();
  for (const c of calls) {
    const summary = await smps.api.GET("/api/v1/calls/{call_id}/summary", { params: { path: { call_id: c.id } } });
    for (const r of summary.data?.recommenders ?? []) names.set(r.recommender_id, r.name);
  }
  const notice = noticeBox();
  const act = (id: string, action: "acknowledge" | "return", comment?: HTMLTextAreaElement) => async () => {
    try {
      ok(await smps.api.GET("/api/v1/batches/{batch_id}", { params: { path: { batch_id: id } } }), "batch");
      ok(await smps.api.POST("/api/v1/batches/{batch_id}/transitions", {
        params: { path: { batch_id: id }, header: { "if-match": smps.etagOf(`/api/v1/batches/${id}`) } },
        body: { action, comment: comment?.value.trim() || null },
      }), action);
      go("office");
    } catch (error) {
      showProblem(main, notice, error);
    }
  };
  const decide = (id: string, name: string): HTMLElement => {
    const comment = h("textarea", { name: "return-comment", rows: 2, maxlength: 2000 });
    const box = h("div", { class: "actions", role: "group", "aria-label": name, "data-id": id },
      button(t("acknowledge"), act(id, "acknowledge"), { "data-id": id }), field(t("returnComment"), comment, "/comment"),
      button(t("returnIt"), act(id, "return", comment)));
    return box;
  };
  const outcomes = h("div", {});
  const acknowledged = batches.filter((b) => b.state === "acknowledged");
  for (const b of acknowledged) {
    const batch = ok(await smps.api.GET("/api/v1/batches/{batch_id}", { params: { path: { batch_id: b.id } } }), "batch");
    for (const item of batch.items.filter((i) => i.state !== "approved" && i.state !== "not_approved")) outcomes.append(outcomeForm(item.application_id, item.title));
  }
  main.replaceChildren(h("h1", {}, t("incoming")), table([t("recommender"), t("tracking"), t("submittedAt"), t("state"), t("actions")],
    batches.map((b) => [names.get(b.recommender_id) ?? b.recommender_id, b.tracking_number ?? "—", beijing(b.submitted_at),
      badge("batch", b.state), b.state === "submitted" ? decide(b.id, b.tracking_number ?? b.id) : link(`lists/${b.id}`, t("open"))]),
    t("incoming")),
  notice, h("h2", {}, t("outcome")), outcomes, h("h2", {}, t("summary")),
  h("ul", {}, ...calls.map((c) => h("li", {}, link(`office/summary/${c.id}`, c.name)))));
}

function outcomeForm(id: string, title: string): HTMLElement {
  const decision = h("select", { name: "decision" }, h("option", { value: "approve" }, t("approve")),
    h("option", { value: "decline" }, t("decline")));
  const number = h("input", { name: "document_number" });
  const notice = noticeBox();
  const form = h("fieldset", { class: "card" }, h("legend", {}, title), field(t("outcome"), decision, "/decision"),
    field(t("documentNumber"), number, "/document_number"), notice);
  form.append(button(t("save"), async () => {
    try {
      await readApplication(id);
      ok(await smps.api.POST("/api/v1/applications/{application_id}/outcome", {
        params: { path: { application_id: id }, header: { "if-match": smps.applicationEtag(id) } },
        body: { decision: decision.value === "approve" ? "approve" : "not_approve", document_number: number.value || null },
      }), "outcome");
      go("office");
    } catch (error) {
      showProblem(form, notice, error);
    }
  }));
  return form;
}

function chart(title: string, counts: Record<string, number>, names: Record<string, string>): HTMLElement {
  const entries = Object.entries(counts);
  const max = Math.max(1, ...entries.map(([, n]) => n));
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 400 ${entries.length * 24 + 4}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${title}: ${entries.map(([k, n]) => `${names[k] ?? k} ${n}`).join(", ")}`);
  entries.forEach(([key, n], i) => {
    const bar = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    for (const [a, v] of [["x", "150"], ["y", String(i * 24 + 4)], ["height", "18"], ["width", String((240 * n) / max)],
      ["class", "bar"]]) bar.setAttribute(a ?? "", v ?? "");
    const label = document.createElementNS("http://www.w3.org/2000/svg", "text");
    label.setAttribute("x", "0");
    label.setAttribute("y", String(i * 24 + 17));
    label.textContent = `${(names[key] ?? key).slice(0, 10)} ${n}`;
    svg.append(bar, label);
  });
  return h("figure", {}, h("figcaption", {}, title), svg);
}

export async function summaryPage(main: HTMLElement, callId: string): Promise<void> {
  const summary = ok(await smps.api.GET("/api/v1/calls/{call_id}/summary", { params: { path: { call_id: callId } } }), "summary");
  const byRecommender = Object.fromEntries(summary.recommenders.map((r) => [r.name, r.item_count]));
  const call = ok(await smps.api.GET("/api/v1/calls/{call_id}", { params: { path: { call_id: callId } } }), "call");
  main.replaceChildren(h("h1", {}, `${t("summary")} · ${call.name}`), h("p", {}, `${t("items")}：${summary.totals.items}`),
    h("div", { class: "charts" }, chart(t("byProvince"), byRecommender, {}), chart(t("byField"), summary.totals.by_field, summary.names),
      chart(t("byState"), summary.totals.by_state,
        Object.fromEntries(Object.keys(summary.totals.by_state).map((k) => [k, labelOf("state", k)])))),
    table([t("recommender"), t("items"), t("tracking"), t("submittedAt"), t("state")], summary.recommenders.map((r) =>
      [r.name, String(r.item_count), r.tracking_number ?? "—", beijing(r.submitted_at), labelOf("batch", r.state)]), t("byProvince")));
}
