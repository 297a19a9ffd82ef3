// Committee: last night's unsafe spots, most unsafe first (DESIGN.md §6): where the
// street was dark while people walked it.

import { api } from "../api.js";
import { clear, h } from "../dom.js";
import { label, qty, t, tx } from "../i18n.js";
import { loading } from "./common.js";
import { showError } from "../app.js";

export function render(root, ctx) {
  const head = h("h1", { text: t("nav_spots") });
  const list = h("ol", { class: "queue", id: "spots" });
  root.append(head, list);
  let closed = false;

  async function load() {
    const busy = loading(root);
    try {
      const page = await api("/api/v1/spots", { query: { limit: 50 } });
      if (closed) return;
      busy.remove();
      clear(list);
      if (!page.data.length) {
        list.append(h("li", { class: "muted", text: t("spots_none") }));
        return;
      }
      head.textContent = t("spots_title", { night: page.data[0].night });
      const top = Math.max(...page.data.map((s) => s.score), 1e-9);
      for (const spot of page.data) {
        list.append(h("li", { class: "card spot" },
          h("div", { class: "row" },
            h("bdi", { class: "rank", dir: "ltr" }, h("strong", { text: `#${spot.rank}` })),
            h("span", { class: "grow place" },
              h("bdi", { class: "area-name", text: spot.area_name }),
              spot.pole ? [" · ", h("span", { class: "pole" }, tx("pole", { pole: spot.pole }))] : null),
            h("span", { class: "small muted", text: label("district", spot.district) })),
          h("div", { class: "bar-score", role: "presentation", dataset: { share: (spot.score / top).toFixed(3) } }),
          h("p", { class: "small muted" },
            `${t("dark_minutes")}: `, qty(spot.dark_minutes), ` · ${t("exposure")}: `, qty(spot.exposure),
            ` · ${t("score")}: `, qty(spot.score, 1)),
          h("a", { href: `#/nodes/${encodeURIComponent(spot.node)}`, class: "small mono", text: spot.node })));
      }
      // Width from data without a style attribute (the page's CSP allows no inline style).
      for (const bar of list.querySelectorAll(".bar-score")) {
        bar.style.width = `${Math.max(2, Number(bar.dataset.share) * 100)}%`;
      }
    } catch (err) {
      busy.remove();
      showError(root, err);
    }
  }

  const unsubscribe = ctx.live.subscribe(({ type }) => { if (type === "refresh") load(); });
  load();
  return { cleanup() { closed = true; unsubscribe(); } };
}
