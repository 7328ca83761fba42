// The applications list: one page at a time, filtered, sorted and paged by the server
// (/ui/api/apps), brought up to date by the server's event stream, never by polling.
"use strict";

(() => {
  const { el, badge, shortSha, time } = Dashboard;
  const PAGE_SIZE = 50;
  const filters = {
    sync: document.getElementById("filter-sync"),
    health: document.getElementById("filter-health"),
    project: document.getElementById("filter-project"),
    text: document.getElementById("filter-text"),
    sort: document.getElementById("sort"),
  };
  let page = 1;
  let shown = new Set(); // names on the current page
  let answer = null;
  let loading = null;
  let again = false;
  let laterTimer = null;

  // Filters, sort and page live in the query string, so a view can be bookmarked or shared.
  function readQuery() {
    const query = new URLSearchParams(location.search);
    filters.sync.value = query.get("sync") || "";
    filters.health.value = query.get("health") || "";
    filters.text.value = query.get("q") || "";
    filters.sort.value = query.get("sort") || "name";
    filters.project.dataset.wanted = query.get("project") || "";
    page = Math.max(Number(query.get("page") || 1) || 1, 1);
  }

  function writeQuery() {
    const query = new URLSearchParams();
    if (filters.sync.value) query.set("sync", filters.sync.value);
    if (filters.health.value) query.set("health", filters.health.value);
    if (filters.project.value || filters.project.dataset.wanted) {
      query.set("project", filters.project.value || filters.project.dataset.wanted);
    }
    if (filters.text.value.trim()) query.set("q", filters.text.value.trim());
    if (filters.sort.value !== "name") query.set("sort", filters.sort.value);
    if (page > 1) query.set("page", String(page));
    const search = query.toString();
    history.replaceState(null, "", search ? "?" + search : location.pathname);
  }

  function apiQuery() {
    const query = new URLSearchParams({ page: String(page), limit: String(PAGE_SIZE), sort: filters.sort.value || "name" });
    if (filters.sync.value) query.set("sync", filters.sync.value);
    if (filters.health.value) query.set("health", filters.health.value);
    const project = filters.project.value || filters.project.dataset.wanted || "";
    if (project) query.set("project", project);
    if (filters.text.value.trim()) query.set("search", filters.text.value.trim());
    return query.toString();
  }

  function updateProjects(projects) {
    const select = filters.project;
    const wanted = select.value || select.dataset.wanted || "";
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

  function render(body) {
    updateProjects(body.projects);
    const tbody = document.querySelector("#apps tbody");
    Dashboard.renderIfChanged(tbody, body.items, (container, data) => container.replaceChildren(...data.map(renderRow)));
    shown = new Set(body.items.map((r) => r.name));
    const empty = document.getElementById("apps-empty");
    empty.hidden = body.items.length > 0;
    empty.textContent = body.all ? "No application matches these filters." :
      "No applications registered yet: register one with `reconciler app create -f FILE`.";
    const parts = Object.entries(body.counts).sort().map(([k, v]) => v + " " + k);
    document.getElementById("list-summary").textContent =
      body.all + " application" + (body.all === 1 ? "" : "s") + (parts.length ? " · " + parts.join(" · ") : "") +
      (body.total !== body.all ? " · " + body.total + " match" : "");
    document.getElementById("page-info").textContent = "Page " + body.page + " of " + body.pages;
    document.getElementById("page-prev").disabled = body.page <= 1;
    document.getElementById("page-next").disabled = body.page >= body.pages;
  }

  // One request at a time; a change meanwhile asks once more when it ends.
  async function refresh() {
    if (loading) { again = true; return loading; }
    loading = (async () => {
      do {
        again = false;
        const got = await Dashboard.api("/ui/api/apps?" + apiQuery());
        if (!got.ok) {
          if (got.status !== 401) Dashboard.notice("Could not load the applications: " + Dashboard.errorText(got.body), "error");
          break;
        }
        answer = got.body;
        if (answer.page > answer.pages && page > 1) { page = answer.pages; writeQuery(); again = true; continue; }
        render(answer);
        document.body.dataset.loaded = "true";
      } while (again);
    })();
    try { await loading; } finally { loading = null; }
  }

  // An event about a row on this page re-reads the page at once; others (which may add a row
  // to it, or change the counts) at most once a second.
  function changed(data) {
    const event = JSON.parse(data);
    if (shown.has(event.app)) { refresh(); return; }
    if (laterTimer) return;
    laterTimer = setTimeout(() => { laterTimer = null; refresh(); }, 1000);
  }

  readQuery();
  for (const input of Object.values(filters)) {
    input.addEventListener(input.tagName === "SELECT" ? "change" : "input", () => { page = 1; writeQuery(); refresh(); });
  }
  document.getElementById("page-prev").addEventListener("click", () => { page = Math.max(page - 1, 1); writeQuery(); refresh(); });
  document.getElementById("page-next").addEventListener("click", () => { page += 1; writeQuery(); refresh(); });
  document.getElementById("filters").addEventListener("submit", (event) => event.preventDefault());
  // With a token in this tab, ask for the rows at once instead of after whoami's answer: the
  // first paint waits for one round trip, not two (a refused token shows the sign-in form).
  const early = Dashboard.hasToken() ? refresh() : null;
  Dashboard.start(() => {
    if (!early) refresh();
    Dashboard.stream("/api/v1/stream/applications", {
      // Read again once subscribed: what changed between the first read and the subscription.
      subscribed() { refresh().then(() => { document.body.dataset.live = "true"; }); },
      status: changed, operation: changed, deleted: changed, reload: () => refresh(),
    });
  });
})();
