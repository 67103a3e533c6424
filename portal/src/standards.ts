// The standards table of the form (标准明细): rows of code, title, level and status, added and removed in place.
import type { Schemas } from "./api";
import { labelOf, t } from "./i18n";
import { button, field, h } from "./ui";

type Row = Schemas["StandardRow"];
const LEVELS: Schemas["StandardLevel"][] = ["national", "sector", "local", "group", "enterprise"];
const STATUSES: Schemas["StandardStatus"][] = ["existing", "to_be_drafted"];

interface Editor {
  controls: HTMLElement[];
  rows: () => Row[];
}

export function standardsEditor(initial: Row[]): Editor {
  const body = h("div", { class: "standards" });
  const editors: { code: HTMLInputElement; title: HTMLInputElement; level: HTMLSelectElement; status: HTMLSelectElement }[] = [];
  const addRow = (row: Row | null): void => {
    const i = editors.length;
    const code = h("input", { name: `standard-${i}-code`, value: row?.code ?? "" });
    const title = h("input", { name: `standard-${i}-title`, value: row?.title ?? "" });
    const level = h("select", { name: `standard-${i}-level` },
      ...LEVELS.map((l) => h("option", { value: l, selected: row?.level === l }, labelOf("level", l))));
    const status = h("select", { name: `standard-${i}-status` },
      ...STATUSES.map((s) => h("option", { value: s, selected: row?.status === s }, labelOf("standard", s))));
    const editor = { code, title, level, status };
    editors.push(editor);
    const group = h("div", { class: "standard-row", role: "group", "aria-label": `${t("standards")} ${i + 1}` },
      field(`${t("standardCode")} ${i + 1}`, code, `/standards/${i}/code`),
      field(`${t("standardTitle")} ${i + 1}`, title, `/standards/${i}/title`),
      field(`${t("standardLevel")} ${i + 1}`, level, `/standards/${i}/level`),
      field(`${t("standardStatus")} ${i + 1}`, status, `/standards/${i}/status`));
    group.append(button(t("remove"), () => {
      editors.splice(editors.indexOf(editor), 1);
      group.remove();
    }, { "aria-label": `${t("remove")} ${t("standards")} ${i + 1}` }));
    body.append(group);
  };
  for (const row of initial) addRow(row);
  if (initial.length === 0) addRow(null);
  return {
    controls: [body, button(t("addStandard"), () => addRow(null))],
    rows: () => editors.filter((e) => e.title.value.trim() !== "").map((e) => ({
      code: e.code.value || null,
      title: e.title.value,
      level: LEVELS.find((l) => l === e.level.value) ?? "national",
      status: STATUSES.find((s) => s === e.status.value) ?? "existing",
    })),
  };
}
