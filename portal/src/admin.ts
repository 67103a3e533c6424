// The administrator: organizations (credit code checked as typed), users and roles, API keys (shown once).
import { ok, type Schemas, smps } from "./api";
import { checkCreditCode } from "./creditcode";
import { labelOf, t } from "./i18n";
import { go } from "./nav";
import { beijing, button, field, h, noticeBox, notify, showProblem, table } from "./ui";

const KINDS: Schemas["OrganizationKind"][] = ["government_agency", "public_institution", "enterprise", "social_organization"];
const ROLES: Schemas["Role"][] = ["applicant", "signatory", "reviewer", "office", "admin"];

export async function adminPage(main: HTMLElement): Promise<void> {
  const orgs = ok(await smps.api.GET("/api/v1/organizations", { params: { query: { page_size: 200 } } }), "orgs").items;
  const users = ok(await smps.api.GET("/api/v1/users", { params: { query: { page_size: 200 } } }), "users").items;
  const keys = ok(await smps.api.GET("/api/v1/api-keys"), "keys").items;
  main.replaceChildren(h("h1", {}, t("organizations")),
    table([t("name"), t("creditCode"), t("province")], orgs.map((o) => [o.name, o.credit_code ?? "—", o.province_code]), t("organizations")),
    organizationForm(), h("h2", {}, t("users")),
    table([t("username"), t("displayName"), t("roles")], users.map((u) => [u.username, u.display_name, u.roles.map((r) => labelOf("role", r)).join("、")]), t("users")),
    userForm(orgs), h("h2", {}, t("apiKeys")),
    table([t("keyName"), t("keyHint"), t("revokedAt")], keys.map((k) => [k.name, k.key_hint, beijing(k.revoked_at)]), t("apiKeys")), keyForm());
}

function organizationForm(): HTMLElement {
  const name = h("input", { name: "org-name" });
  const code = h("input", { name: "credit_code", maxlength: 18, autocomplete: "off" });
  const province = h("input", { name: "province_code", value: "370000" });
  const kind = h("select", { name: "kind" }, ...KINDS.map((k) => h("option", { value: k }, labelOf("orgkind", k))));
  const status = h("p", { class: "credit", "aria-live": "polite", id: "credit-status" });
  code.addEventListener("input", () => {
    code.value = code.value.toUpperCase();
    const check = code.value.length === 0 ? null : checkCreditCode(code.value);
    status.textContent = check === null ? "" : t(check === "valid" ? "creditValid" : check === "malformed" ? "creditMalformed" : "creditBadCheck");
    status.className = check === "valid" ? "credit ok" : "credit notice-error";
  });
  const notice = noticeBox();
  const form = h("fieldset", { class: "card" }, h("legend", {}, t("organizations")), field(t("name"), name, "/name"),
    field(t("creditCode"), code, "/credit_code"), status, field(t("province"), province, "/province_code"),
    field(t("orgKind"), kind, "/kind"), notice);
  form.append(button(t("create"), async () => {
    try {
      const chosen = KINDS.find((k) => k === kind.value) ?? "enterprise";
      ok(await smps.api.POST("/api/v1/organizations", { body: { name: name.value, credit_code: code.value,
        province_code: province.value, kind: chosen, accept_failed_check_character: false } }), "organization");
      go("admin");
    } catch (error) {
      showProblem(form, notice, error);
    }
  }));
  return form;
}

function userForm(orgs: Schemas["OrganizationPublic"][]): HTMLElement {
  const username = h("input", { name: "new-username", autocomplete: "off" });
  const display = h("input", { name: "display_name" });
  const password = h("input", { name: "new-password", type: "password", autocomplete: "new-password" });
  const email = h("input", { name: "email", type: "email", autocomplete: "email" });
  const org = h("select", { name: "organization_id" }, ...orgs.map((o) => h("option", { value: o.id }, o.name)));
  const boxes = ROLES.map((r) => ({ role: r, box: h("input", { type: "checkbox", name: `role-${r}` }) }));
  const notice = noticeBox();
  const form = h("fieldset", { class: "card" }, h("legend", {}, t("users")), field(t("username"), username, "/username"),
    field(t("displayName"), display, "/display_name"), field(t("password"), password, "/password"),
    field(t("email"), email, "/email"), field(t("organization"), org, "/organization_id"), h("fieldset", { class: "roles" }, h("legend", {}, t("roles")),
      ...boxes.map(({ role, box }) => field(labelOf("role", role), box, "/roles"))), notice);
  form.append(button(t("create"), async () => {
    try {
      ok(await smps.api.POST("/api/v1/users", { body: { username: username.value, display_name: display.value,
        password: password.value, organization_id: org.value, roles: boxes.filter((b) => b.box.checked).map((b) => b.role),
        email: email.value.trim() || null, email_notifications: true } }), "user");
      go("admin");
    } catch (error) {
      showProblem(form, notice, error);
    }
  }));
  return form;
}

function keyForm(): HTMLElement {
  const name = h("input", { name: "key-name" });
  const notice = noticeBox();
  const shown = h("output", { class: "secret" });
  const form = h("fieldset", { class: "card" }, h("legend", {}, t("apiKeys")), field(t("keyName"), name, "/name"), shown, notice);
  form.append(button(t("create"), async () => {
    try {
      const created = ok(await smps.api.POST("/api/v1/api-keys", { body: { name: name.value } }), "key");
      shown.replaceChildren(t("keyShownOnce"), h("code", {}, created.key));
      notify(notice, t("saved"));
    } catch (error) {
      showProblem(form, notice, error);
    }
  }));
  return form;
}
