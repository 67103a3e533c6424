// Links and navigation under /portal/ (history API; the service answers index.html for any portal path).
import { h } from "./ui";

export const BASE = "/portal/";
let renderer: () => Promise<void> = async () => undefined;

export function setRenderer(render: () => Promise<void>): void {
  renderer = render;
}

export function go(path: string): void {
  history.pushState(null, "", BASE + path);
  void renderer();
}

export function link(path: string, label: string): HTMLAnchorElement {
  return h("a", { href: BASE + path, "data-link": true }, label);
}
