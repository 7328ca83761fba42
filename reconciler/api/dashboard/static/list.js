// The applications list: rows from /ui/api/apps every few seconds, filtered in the page.
"use strict";

(() => {
  const { el, badge, shortSha, time } = Dashboard;
  const filters = {
    sync: document.getElementById("filter-sync"),
    health: document.getElementById("filter-health"),
    project: document.getElementById("filter-project"),
    text: document.getElementById("filter-text"),
  };
  let rows = [];

  // Filters live in the query string, so a filtered view can be bookmarked or shared.
  function readQuery() {
    const query = new URLSearchParams(location.search);
    filters.sync.value = query.get("sync") || "";
    filters.health.value = query.get("health") || "";
    filters.text.value = query.get("q") || "";
    filters.project.dataset.wanted = query.get("project") || "";
  }

  function writeQuery() {
    const query = new URLSearchParams();
    if (filters.sync.value) query.set("sync", filters.sync.value);
    if (filters.health.value) query.set("health", filters.health.value);
    if (filters.project.value) query.set("project", filters.project.value);
    if (filters.text.value.trim()) query.set("q", filters.text.value.trim());
    const search = query.toString();
    history.replaceState(null, "", search ? "?" + search : location.pathname);
  }

  function matches(row) {
    if (filters.sync.value && row.sync !== filters.sync.value) return false;
    if (filters.health.value && row.health !== filters.health.value) return false;
    if (filters.project.value && row.project !== filters.project.value) return false;
    const text = filters.text.value.trim().toLowerCase();
    if (!text) return true;
    return [row.name, row.repoURL, row.path, row.project, row.parent].some((v) => (v || "").toLowerCase().includes(text));
  }

  function updateProjects() {
    const select = filters.project;
    const wanted = select.value || select.dataset.wanted || "";
    const projects = [...new Set(rows.map((r) => r.project).filter(Boolean))].sort();
    const current = [...select.options].slice(1).map((o) => o.value);
    if (JSON.stringify(current) !== JSON.stringify(projects)) {
      select.replaceChildren(el("option", { value: "" }, "Any"), ...projects.map((p) => el("option", { value: p }, p)));
    }
    if (wanted && projects.includes(wanted)) {
      select.value = wanted;
      delete select.dataset.wanted;
    }
  }

  function sourceCell(row) {
    const repo = row.repoWebURL
      ? el("a", { href: row.repoWebURL, rel: "noreferrer", target: "_blank" }, row.repoURL)
      : el("span", {}, row.repoURL);
    return el("td", { class: "col-source" }, el("div", { class: "repo" }, repo),
      el("div", { class: "muted" }, "path: ", el("code", {}, row.path || ".")));
  }

  function revisionCell(row) {
    const target = el("div", {}, el("span", { class: "label" }, "target "), el("code", {}, row.targetRevision || "HEAD"),
      " → ", el("span", { class: "target-sha" }, shortSha(row.revision, row.revisionURL)));
    const synced = el("div", {}, el("span", { class: "label" }, "synced "),
      el("span", { class: "synced-sha" }, shortSha(row.syncedRevision, row.syncedRevisionURL)));
    return el("td", { class: "col-revision" }, target, synced);
  }

  function lastSyncCell(row) {
    const last = row.lastSync || {};
    if (!last.phase) return el("td", { class: "col-last-sync" }, el("span", { class: "muted" }, "no sync yet"));
    return el("td", { class: "col-last-sync" }, badge(last.phase, last.message), " ",
      last.finishedAt ? time(last.finishedAt) : el("span", { class: "muted" }, "running"),
      last.message ? el("div", { class: "message" }, last.message) : null);
  }

  function autoSyncCell(row) {
    if (!row.automated) return el("td", { class: "col-auto" }, el("span", { class: "flag off" }, "manual"));
    return el("td", { class: "col-auto" }, el("span", { class: "flag on" }, "auto"),
      row.prune ? el("span", { class: "flag on" }, "prune") : null,
      row.selfHeal ? el("span", { class: "flag on" }, "self-heal") : null);
  }

  function renderRow(row) {
    const name = el("td", { class: "col-name" },
      el("a", { href: "/ui/apps/" + encodeURIComponent(row.name), class: "app-link" }, row.name),
      row.parent ? el("div", { class: "muted" }, "part of ", el("a", { href: "/ui/apps/" + encodeURIComponent(row.parent) },
        row.parent)) : null);
    return el("tr", { "data-app": row.name },
      name,
      el("td", { class: "col-project" }, row.project),
      sourceCell(row),
      revisionCell(row),
      el("td", { class: "col-sync" }, badge(row.sync)),
      el("td", { class: "col-health" }, badge(row.health, row.healthMessage),
        row.healthMessage && row.health !== "Healthy" ? el("div", { class: "message" }, row.healthMessage) : null),
      lastSyncCell(row),
      autoSyncCell(row));
  }

  function render() {
    updateProjects();
    const shown = rows.filter(matches);
    const body = document.querySelector("#apps tbody");
    Dashboard.renderIfChanged(body, shown, (container, data) => container.replaceChildren(...data.map(renderRow)));
    const empty = document.getElementById("apps-empty");
    empty.hidden = shown.length > 0;
    empty.textContent = rows.length ? "No application matches these filters." :
      "No applications registered yet: register one with `reconciler app create -f FILE`.";
    const counts = {};
    for (const row of rows) counts[row.sync] = (counts[row.sync] || 0) + 1;
    const parts = Object.entries(counts).sort().map(([k, v]) => v + " " + k);
    document.getElementById("list-summary").textContent =
      rows.length + " application" + (rows.length === 1 ? "" : "s") + (parts.length ? " · " + parts.join(" · ") : "") +
      (shown.length !== rows.length ? " · " + shown.length + " shown" : "");
  }

  async function refresh() {
    const answer = await Dashboard.api("/ui/api/apps");
    if (!answer.ok) {
      if (answer.status !== 401) Dashboard.notice("Could not load the applications: " + Dashboard.errorText(answer.body), "error");
      return;
    }
    rows = answer.body;
    document.body.dataset.loaded = "true";
    render();
  }

  readQuery();
  for (const input of Object.values(filters)) {
    input.addEventListener("input", () => { writeQuery(); render(); });
  }
  document.getElementById("filters").addEventListener("submit", (event) => event.preventDefault());
  Dashboard.start(() => Dashboard.poll(refresh));
})();
