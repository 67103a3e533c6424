// The portal: sign-in, the layout with each role's pages, and a small router under /portal/.
import { SmpsError } from "@smps/client";
import { currentUser, forgetUser, type Schemas, smps } from "./api";
import { type Key, language, setLanguage, t } from "./i18n";
import { adminPage } from "./admin";
import { applicationPage, applicationsPage, newApplicationPage } from "./applicant";
import { officePage, summaryPage } from "./office";
import { batchPage } from "./batch";
import { reviewApplicationPage, reviewPage } from "./reviewer";
import { signOffPage, signOffsPage } from "./signatory";
import { BASE, go, link, setRenderer } from "./nav";
import { button, field, h, noticeBox, showProblem } from "./ui";
import "./style.css";

type Page = (main: HTMLElement, ...params: string[]) => Promise<void>;
const ROUTES: [RegExp, Page][] = [
  [/^applications$/, applicationsPage],
  [/^applications\/new$/, newApplicationPage],
  [/^applications\/([\w-]+)$/, applicationPage],
  [/^sign-offs$/, signOffsPage],
  [/^sign-offs\/([\w-]+)$/, signOffPage],
  [/^review$/, reviewPage],
  [/^review\/([\w-]+)$/, reviewApplicationPage],
  [/^lists\/([\w-]+)$/, batchPage],
  [/^office$/, officePage],
  [/^office\/summary\/([\w-]+)$/, summaryPage],
  [/^admin$/, adminPage],
];
const MENU: [Schemas["Role"], Key, string][] = [
  ["applicant", "applications", "applications"], ["signatory", "awaiting", "sign-offs"], ["reviewer", "queue", "review"],
  ["office", "incoming", "office"], ["admin", "organizations", "admin"],
];

document.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest("a[data-link]") : null;
  if (link instanceof HTMLAnchorElement && !event.ctrlKey && !event.metaKey) {
    event.preventDefault();
    go(link.getAttribute("href")?.slice(BASE.length) ?? "");
  }
});
window.addEventListener("popstate", () => void render());

function header(signedIn: boolean, who: string): HTMLElement {
  const switcher = button(t("language"), () => {
    setLanguage(language() === "en" ? "zh-CN" : "en");
    location.reload();
  }, { "aria-label": t("languageLabel"), lang: language() === "en" ? "zh-CN" : "en" });
  const out = signedIn ? button(t("signOut"), async () => {
    await smps.signOut().catch(() => undefined);
    forgetUser();
    go("");
  }) : null;
  return h("header", { class: "top" }, h("a", { class: "skip", href: "#main" }, t("skip")),
    h("span", { class: "brand" }, t("appTitle")), who ? h("span", { class: "who" }, `${t("signedInAs")}：${who}`) : null,
    switcher, out);
}

function signInPage(root: HTMLElement): void {
  const username = h("input", { name: "username", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const notice = noticeBox();
  const form = h("form", { class: "card signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, t("signIn")),
    field(t("username"), username, "/username"), field(t("password"), password, "/password"),
    h("button", { type: "submit" }, t("signIn")), notice);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    smps.signIn(username.value, password.value).then(() => render(), (error: unknown) => showProblem(form, notice, error));
  });
  root.replaceChildren(header(false, ""), h("main", { id: "main" }, form));
  username.focus();
}

async function render(): Promise<void> {
  const root = document.getElementById("app");
  if (root === null) return;
  document.documentElement.lang = language();
  document.title = t("appTitle");
  if (!smps.signedIn) return signInPage(root);
  let user;
  try {
    user = await currentUser();
  } catch (error) {
    if (error instanceof SmpsError && error.status === 401) {
      smps.tokens.set(null);
      return signInPage(root);
    }
    throw error;
  }
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length).replace(/\/$/, "") : "";
  const nav = h("nav", { "aria-label": t("home") }, h("ul", {},
    ...MENU.filter(([role]) => user.roles.includes(role)).map(([, label, to]) => h("li", {}, link(to, t(label))))));
  const main = h("main", { id: "main", tabindex: "-1" }, h("p", {}, t("loading")));
  root.replaceChildren(header(true, `${user.display_name}（${user.organization_name}）`), nav, main);
  const first = MENU.find(([role]) => user.roles.includes(role));
  const target = path === "" && first ? first[2] : path;
  if (target !== path) history.replaceState(null, "", BASE + target);
  const route = ROUTES.find(([pattern]) => pattern.test(target));
  const match = route?.[0].exec(target);
  if (!route || !match) {
    main.replaceChildren(h("h1", {}, t("notFound")));
    return;
  }
  try {
    await route[1](main, ...match.slice(1).map((x) => x ?? ""));
  } catch (error) {
    const notice = noticeBox();
    main.replaceChildren(h("h1", {}, t("error")), notice);
    showProblem(main, notice, error);
  }
}

setRenderer(render);
void render();
