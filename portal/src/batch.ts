// The recommended list (推荐名单): add, rank (drag and drop, the up/down buttons, or Alt+↑/↓ on the focused row,
// announced), quota, the deadline in Beijing time with a countdown, submit; then the receipt, the list and the package.
import { ok, smps } from "./api";
import { t } from "./i18n";
import { go } from "./nav";
import { badge, beijing, button, h, noticeBox, openDownload, showProblem } from "./ui";

type Item = { application_id: string; title: string };

export async function batchPage(main: HTMLElement, id: string): Promise<void> {
  const read = async () => ok(await smps.api.GET("/api/v1/batches/{batch_id}", { params: { path: { batch_id: id } } }), "batch");
  const batch = await read();
  const call = ok(await smps.api.GET("/api/v1/calls/{call_id}", { params: { path: { call_id: batch.call_id } } }), "call");
  const editing = batch.allowed_actions.includes("set_items");
  const recommended = editing ? ok(await smps.api.GET("/api/v1/applications", {
    params: { query: { state: ["recommended"], call_id: batch.call_id } } }), "recommended").items : [];
  const items: Item[] = batch.items.map((i) => ({ application_id: i.application_id, title: i.title }));
  const notice = noticeBox();
  const hint = h("p", { id: "rank-hint", class: "hint" }, t("reorderHint"));
  const announce = h("p", { class: "announce", role: "status", "aria-live": "polite" });
  const list = h("ol", { class: "ranked", "aria-label": t("list"), "aria-describedby": editing ? "rank-hint" : undefined });
  const pool = h("ul", { class: "pool" });
  const count = h("span", {}, String(items.length));
  const countdown = h("p", { class: "countdown", "aria-live": "off" });
  const tick = () => {
    const left = new Date(call.deadline).getTime() - Date.now();
    const d = Math.max(0, Math.floor(left / 1000));
    countdown.textContent = `${t("deadline")}：${beijing(call.deadline)} · ${t("remaining")} ` +
      t("left", { d: Math.floor(d / 86400), h: Math.floor((d % 86400) / 3600), m: Math.floor((d % 3600) / 60) });
  };
  tick();
  const timer = setInterval(() => (countdown.isConnected ? tick() : clearInterval(timer)), 30_000);
  let dragged = -1;
  const draw = (focus: number | null = null) => {
    count.textContent = String(items.length);
    list.replaceChildren(...items.map((item, i) => {
      const row = h("li", { draggable: editing ? "true" : "false", "data-id": item.application_id },
        h("span", { class: "rank" }, `${i + 1}. `), item.title);
      if (editing) {
        row.tabIndex = 0;
        row.setAttribute("aria-keyshortcuts", "Alt+ArrowUp Alt+ArrowDown");
        row.setAttribute("aria-describedby", "rank-hint");
        row.addEventListener("keydown", (e) => {
          if (!e.altKey || (e.key !== "ArrowUp" && e.key !== "ArrowDown")) return;
          e.preventDefault();
          move(i, e.key === "ArrowUp" ? i - 1 : i + 1, true);
        });
        row.addEventListener("dragstart", () => { dragged = i; });
        row.addEventListener("dragover", (e) => e.preventDefault());
        row.addEventListener("drop", (e) => { e.preventDefault(); move(dragged, i, false); });
        row.append(button(t("moveUp"), () => move(i, i - 1, false), { "aria-label": `${t("moveUp")} ${item.title}`, disabled: i === 0 }),
          button(t("moveDown"), () => move(i, i + 1, false),
            { "aria-label": `${t("moveDown")} ${item.title}`, disabled: i === items.length - 1 }),
          button(t("remove"), () => { items.splice(i, 1); draw(); }, { "aria-label": `${t("remove")} ${item.title}` }));
      }
      return row;
    }));
    if (focus !== null) list.querySelectorAll<HTMLElement>("li")[focus]?.focus();
    const listed = new Set(items.map((x) => x.application_id));
    pool.replaceChildren(...recommended.filter((a) => !listed.has(a.id)).map((a) => h("li", {}, a.title,
      button(t("add"), () => { items.push({ application_id: a.id, title: a.title }); draw(); },
        { "aria-label": `${t("add")} ${a.title}` }))));
  };
  const move = (from: number, to: number, byKeyboard: boolean) => {
    if (from < 0 || to < 0 || from >= items.length || to >= items.length) return;
    const [item] = items.splice(from, 1);
    if (!item) return;
    items.splice(to, 0, item);
    draw(byKeyboard ? to : null);
    announce.textContent = `${item.title}：${t("movedTo", { n: to + 1 })}`;
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
    controls.append(button(t("saveList"), act(saveFresh)));
    if (batch.allowed_actions.includes("submit")) {
      controls.append(button(t("submitList"), act(async () => {
        await saveFresh();
        await read(); // the list's ETag after its items changed
        ok(await smps.api.POST("/api/v1/batches/{batch_id}/transitions", {
          params: { path: { batch_id: id }, header: { "if-match": smps.etagOf(`/api/v1/batches/${id}`) } },
          body: { action: "submit" } }), "submit");
      })));
    }
  }
  if (batch.tracking_number) {
    controls.append(button(t("receiptPdf"), async () => openDownload(await smps.receiptPdf(id))),
      button(t("listPdf"), async () => openDownload(await smps.recommendedListPdf(id))),
      button(t("packageZip"), async () => openDownload(await smps.packageZip(id))));
  }
  main.replaceChildren(...[h("h1", {}, `${t("list")} · ${call.name}`),
    h("p", {}, `${t("state")}：`, badge("batch", batch.state), ` · ${t("tracking")}：${batch.tracking_number ?? "—"}`),
    batch.state === "returned" && batch.return_comment
      ? h("p", { class: "notice-error returned" }, `${t("returnedBy")}：${batch.return_comment}`) : null,
    h("p", {}, `${t("quota")}：${call.quota_per_recommender ?? "—"} · ${t("items")}：`, count), countdown,
    h("h2", {}, t("list")), editing ? hint : null, list, announce, controls, notice].filter((x) => x !== null));
  if (editing) main.insertBefore(h("h2", {}, t("recommend")), controls);
  if (editing) main.insertBefore(pool, controls);
}
