// A few DOM helpers: elements, labelled fields with their errors, notices, downloads.
import { type Download, errorsUnder, SmpsError } from "@smps/client";
import { type Group, type Key, labelOf, t } from "./i18n";

type Prop = string | number | boolean | undefined | ((event: Event) => void);
export type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K, props: Record<string, Prop> = {}, ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (typeof value === "function") element.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) element.setAttribute(name, "");
    else if (value !== undefined && value !== false) element.setAttribute(name, String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

let counter = 0;
export function uid(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** A labelled control with a place for its errors (`data-pointer` names the problem pointer it shows). */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  pointer: string): HTMLElement {
  const id = control.id || uid("f");
  control.id = id;
  const errors = h("p", { class: "field-error", id: `${id}-error`, "data-pointer": pointer, role: "alert" });
  control.setAttribute("aria-describedby", `${id}-error`);
  const check = control instanceof HTMLInputElement && (control.type === "checkbox" || control.type === "radio");
  return h("div", { class: check ? "field check" : "field" }, h("label", { for: id }, label), control, errors);
}

/** Shows a refused request's field errors beside their fields (and the rest in the notice). */
export function showProblem(root: HTMLElement, notice: HTMLElement, error: unknown): void {
  for (const slot of root.querySelectorAll<HTMLElement>("[data-pointer]")) slot.textContent = "";
  for (const control of root.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
  if (!(error instanceof SmpsError)) {
    notify(notice, `${t("error")}: ${String(error)}`, true);
    return;
  }
  let placed = 0;
  for (const slot of root.querySelectorAll<HTMLElement>("[data-pointer]")) {
    const messages = errorsUnder(error.fields, slot.dataset.pointer ?? "");
    if (messages.length > 0) {
      slot.textContent = messages.join("；");
      slot.previousElementSibling?.setAttribute("aria-invalid", "true");
      placed += messages.length;
    }
  }
  const problem = error.problem;
  notify(notice, problem ? `${problem.title}${problem.detail ? `：${problem.detail}` : ""}` : error.message, true);
  if (placed === 0 && problem) {
    const rest = problem.errors.map((e) => `${e.pointer}: ${e.message}`).join("\n");
    if (rest) notice.textContent += `\n${rest}`;
  }
}

export function notify(notice: HTMLElement, message: string, isError = false): void {
  notice.textContent = message;
  notice.className = isError ? "notice notice-error" : "notice";
}

export function noticeBox(): HTMLElement {
  return h("p", { class: "notice", role: "status", "aria-live": "polite" });
}

export function button(label: Key | string, onClick: () => void | Promise<void>, extra: Record<string, Prop> = {}): HTMLButtonElement {
  return h("button", { type: "button", ...extra, onclick: () => { void onClick(); } }, label);
}

export function table(headers: string[], rows: Child[][], caption: string): HTMLTableElement {
  return h("table", {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ...headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, ...rows.map((cells) => h("tr", {}, ...cells.map((c) => h("td", {}, c))))));
}

/** Opens a downloaded file in a new tab (a Blob URL: the token never appears in a URL). */
export function openDownload(download: Download): void {
  const url = URL.createObjectURL(download.blob);
  const link = h("a", { href: url, download: download.filename, target: "_blank", rel: "noopener" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function beijing(iso: string | null | undefined): string {
  if (!iso) return "—";
  return new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", dateStyle: "short", timeStyle: "medium" })
    .format(new Date(iso));
}

/** A state (or another coded value) shown by its label, the code kept in `data-state`. */
export function badge(group: Group, code: string): HTMLElement {
  return h("strong", { class: "state", "data-state": code }, labelOf(group, code));
}
