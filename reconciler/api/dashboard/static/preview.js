// One pull-request preview: its apps (the ones the signed-in caller may get), their object
// changes with diffs, hooks, refusals and render errors, from /api/v1/previews/{id}, polled
// while the preview runs. Text only (textContent): diffs come from Git and the cluster.
"use strict";

(() => {
  const { el, badge } = Dashboard;
  const id = document.body.dataset.preview;
  let done = false; // an ended preview does not change: no more requests, open diffs stay open

  function objectName(obj) {
    return (obj.group ? obj.group + "/" : "") + obj.kind + " " + (obj.namespace ? obj.namespace + "/" : "") + obj.name;
  }

  function appSection(app) {
    const errors = (app.errors || []).map((e) => el("li", { class: "condition bad" },
      el("strong", {}, "render error "), (e.file ? e.file + (e.line ? ":" + e.line : "") + ": " : ""), e.message));
    const refused = (app.refused || []).map((r) => el("li", { class: "condition bad" },
      el("strong", {}, r.reason === "project" ? "refused by the project: " : "held by a sync window: "), r.message));
    const objects = (app.objects || []).map((obj) => el("details", { class: "preview-object" },
      el("summary", {}, obj.change + ": " + objectName(obj)),
      el("pre", { class: "diff" }, obj.diff || "(no difference to show)")));
    const hooks = (app.hooks || []).length ? el("p", { class: "muted" }, "hooks that would run: " +
      app.hooks.map((h) => h.phase + " " + h.kind + " " + h.name).join(", ")) : "";
    return el("section", { class: "preview-app", "data-app": app.name },
      el("h2", {}, el("a", { href: "/ui/apps/" + encodeURIComponent(app.name) }, app.name), " ", badge(app.status)),
      el("ul", { class: "conditions" }, errors, refused), ...objects, hooks);
  }

  async function refresh() {
    if (done) return;
    const answer = await Dashboard.api("/api/v1/previews/" + encodeURIComponent(id));
    if (!answer.ok) {
      if (answer.status !== 401) Dashboard.notice("Could not load the preview: " + Dashboard.errorText(answer.body), "error");
      return;
    }
    const view = answer.body;
    document.getElementById("preview-source").textContent = (view.repoURL || "") + " · " +
      (view.base || "").slice(0, 7) + " → " + (view.head || "").slice(0, 7) +
      (view.pullRequest ? " · pull request " + view.pullRequest.full_name + "#" + view.pullRequest.number : "");
    document.getElementById("preview-summary").textContent = view.state === "finished"
      ? view.summary : view.state + (view.error ? ": " + view.error : "");
    const changed = (view.apps || []).filter((app) => app.status !== "unchanged");
    const unchanged = (view.apps || []).filter((app) => app.status === "unchanged").map((app) => app.name);
    document.getElementById("preview-apps").replaceChildren(...changed.map(appSection),
      el("p", { class: "muted" }, unchanged.length ? "Unchanged (" + unchanged.length + "): " + unchanged.join(", ") : ""));
    document.body.dataset.loaded = "true";
    done = ["finished", "failed", "cancelled"].includes(view.state);
  }

  // A running preview is asked again every 2 s until it ends (previews are not on the event
  // streams); one loop, however often the page signs in again.
  let polling = false;
  async function pollUntilDone() {
    if (polling) return;
    polling = true;
    while (!done) {
      if (!document.hidden) await refresh();
      if (!done) await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    polling = false;
  }

  Dashboard.start(pollUntilDone);
})();
