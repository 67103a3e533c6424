// The provincial reviewer: the queue, paper sign-off verification, recommend / return / reject, the list.
import { ok, readApplication, type Schemas, smps } from "./api";
import { signOffTable } from "./applicant";
import { t } from "./i18n";
import { go, link } from "./nav";
import { beijing, button, field, h, noticeBox, openDownload, showProblem, table } from "./ui";

export async function reviewPage(main: HTMLElement): Promise<void> {
  const queue = ok(await smps.api.GET("/api/v1/applications", { params: { query: { state: ["provincial_review"] } } }), "queue");
  const batches = ok(await smps.api.GET("/api/v1/batches"), "batches");
  const calls = ok(await smps.api.GET("/api/v1/calls"), "calls");
  const rows = queue.items.map((a) => [a.title, a.state, h("div", { class: "actions" }, ...reviewButtons(a.id, main))]);
  const notice = noticeBox();
  const newList = h("div", { class: "actions" }, ...calls.map((c) => button(`${t("newList")}：${c.name}`, async () => {
    try {
      go(`lists/${ok(await smps.api.POST("/api/v1/batches", { body: { call_id: c.id } }), "batch").id}`);
    } catch (error) {
      showProblem(main, notice, error);
    }
  })));
  main.replaceChildren(h("h1", {}, t("queue")), queue.items.length ? table([t("title"), t("state"), t("actions")], rows, t("queue"))
    : h("p", {}, t("none")), h("h2", {}, t("list")), table([t("list"), t("state"), t("items"), t("tracking")],
    batches.items.map((b) => [link(`lists/${b.id}`, b.id), b.state, String(b.item_count), b.tracking_number ?? "—"]), t("list")),
  newList, notice);
}

function reviewButtons(id: string, main: HTMLElement): HTMLElement[] {
  const notice = noticeBox();
  const review = (decision: "recommend" | "return" | "reject") => async () => {
    try {
      const app = await readApplication(id);
      for (const s of app.sign_offs) {
        if (s.mode === "paper" && s.verification === "pending" && s.endorsement_id) {
          ok(await smps.api.POST("/api/v1/applications/{application_id}/endorsements/{endorsement_id}/verification", {
            params: { path: { application_id: id, endorsement_id: s.endorsement_id },
              header: { "if-match": smps.applicationEtag(id) } },
            body: { verdict: "confirmed", comment: t("confirmed") },
          }), "verify");
          await readApplication(id);
        }
      }
      ok(await smps.api.POST("/api/v1/applications/{application_id}/reviews", {
        params: { path: { application_id: id }, header: { "if-match": smps.applicationEtag(id) } },
        body: { decision, opinion: decision === "recommend" ? "同意推荐" : "请修改" },
      }), decision);
      go("review");
    } catch (error) {
      showProblem(main, notice, error);
    }
  };
  return [link(`sign-offs/${id}`, t("open")), button(t("recommend"), review("recommend"), { "data-id": id }),
    button(t("returnIt"), review("return")), button(t("reject"), review("reject")), notice];
}

type Item = { application_id: string; title: string };

export async function batchPage(main: HTMLElement, id: string): Promise<void> {
  const read = async () => ok(await smps.api.GET("/api/v1/batches/{batch_id}", { params: { path: { batch_id: id } } }), "batch");
  const batch = await read();
  const call = ok(await smps.api.GET("/api/v1/calls/{call_id}", { params: { path: { call_id: batch.call_id } } }), "call");
  const recommended = ok(await smps.api.GET("/api/v1/applications", {
    params: { query: { state: ["recommended"], call_id: batch.call_id } } }), "recommended").items;
  const items: Item[] = batch.items.map((i) => ({ application_id: i.application_id, title: i.title }));
  const notice = noticeBox();
  const editing = batch.allowed_actions.includes("submit") || batch.state === "open";
  const list = h("ol", { class: "ranked", "aria-label": t("list") });
  const pool = h("ul", { class: "pool" });
  const count = h("span", {}, String(items.length));
  const countdown = h("p", { class: "countdown", "aria-live": "off" });
  const tick = () => {
    const left = new Date(call.deadline).getTime() - Date.now();
    const d = Math.max(0, Math.floor(left / 1000));
    countdown.textContent = `${t("deadline")}：${beijing(call.deadline)} · ${t("remaining")} ${Math.floor(d / 86400)}d ` +
      `${Math.floor((d % 86400) / 3600)}h ${Math.floor((d % 3600) / 60)}m`;
  };
  tick();
  const timer = setInterval(() => (countdown.isConnected ? tick() : clearInterval(timer)), 30_000);
  let dragged = -1;
  const draw = () => {
    count.textContent = String(items.length);
    list.replaceChildren(...items.map((item, i) => {
      const row = h("li", { draggable: editing ? "true" : "false", "data-id": item.application_id },
        h("span", { class: "rank" }, `${i + 1}. `), item.title);
      if (editing) {
        row.addEventListener("dragstart", () => { dragged = i; });
        row.addEventListener("dragover", (e) => e.preventDefault());
        row.addEventListener("drop", (e) => { e.preventDefault(); move(dragged, i); });
        row.append(button(t("moveUp"), () => move(i, i - 1), { "aria-label": `${t("moveUp")} ${item.title}`, disabled: i === 0 }),
          button(t("moveDown"), () => move(i, i + 1), { "aria-label": `${t("moveDown")} ${item.title}`, disabled: i === items.length - 1 }),
          button(t("remove"), () => { items.splice(i, 1); draw(); }, { "aria-label": `${t("remove")} ${item.title}` }));
      }
      return row;
    }));
    const listed = new Set(items.map((x) => x.application_id));
    pool.replaceChildren(...recommended.filter((a) => !listed.has(a.id)).map((a) => h("li", {}, a.title,
      editing ? button(t("add"), () => { items.push({ application_id: a.id, title: a.title }); draw(); },
        { "aria-label": `${t("add")} ${a.title}` }) : null)));
  };
  const move = (from: number, to: number) => {
    if (from < 0 || to < 0 || from >= items.length || to >= items.length) return;
    const [item] = items.splice(from, 1);
    if (item) items.splice(to, 0, item);
    draw();
  };
  draw();
  const save = async () => ok(await smps.api.PUT("/api/v1/batches/{batch_id}/items", { // If-Match: the list as last read
    params: { path: { batch_id: id }, header: { "if-match": smps.etagOf(`/api/v1/batches/${id}`) } },
    body: { items: items.map((x, i) => ({ rank: i + 1, application_id: x.application_id })) },
  }), "items");
  const saveFresh = async () => {
    await read();
    return save();
  };
  const act = (what: () => Promise<unknown>) => async () => {
    try {
      await what();
      go(`lists/${id}`);
    } catch (error) {
      showProblem(main, notice, error);
    }
  };
  const controls = h("div", { class: "actions" });
  if (editing) {
    controls.append(button(t("saveList"), act(saveFresh)), button(t("submitList"), act(async () => {
      await saveFresh();
      await read(); // the list's ETag after its items changed
      ok(await smps.api.POST("/api/v1/batches/{batch_id}/transitions", {
        params: { path: { batch_id: id }, header: { "if-match": smps.etagOf(`/api/v1/batches/${id}`) } },
        body: { action: "submit" } }), "submit");
    })));
  } else {
    controls.append(button(t("receiptPdf"), async () => openDownload(await smps.receiptPdf(id))),
      button(t("listPdf"), async () => openDownload(await smps.recommendedListPdf(id))),
      button(t("packageZip"), async () => openDownload(await smps.packageZip(id))));
  }
  main.replaceChildren(h("h1", {}, `${t("list")} · ${call.name}`),
    h("p", {}, `${t("state")}：`, h("strong", { class: "state" }, batch.state), ` · ${t("tracking")}：${batch.tracking_number ?? "—"}`),
    h("p", {}, `${t("quota")}：${call.quota_per_recommender ?? "—"} · ${t("items")}：`, count), countdown,
    h("h2", {}, t("list")), list, controls, notice);
  if (editing) main.insertBefore(h("h2", {}, t("recommend")), controls);
  if (editing) main.insertBefore(pool, controls);
}

export type { Schemas };
