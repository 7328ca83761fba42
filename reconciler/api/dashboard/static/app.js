// One application: summary, conditions, operation, child apps, the resource graph (a node opens
// the side panel of panel.js; a node's menu runs resource actions; checked nodes are synced
// alone), orphaned resources, history with rollback. Kept current by the app's event stream.
"use strict";

(() => {
  const { el, badge, shortSha, time, renderIfChanged } = Dashboard;
  const name = document.body.dataset.app;
  const base = "/api/v1/applications/" + encodeURIComponent(name);
  const panel = Panel.create(name);
  const selected = new Set(); // group/kind/namespace/name of the nodes checked for a selective sync
  const actionsOf = new Map(); // "group/Kind" -> action names this caller may run (null: asking)
  const graphFilter = {
    kind: document.getElementById("graph-kind"),
    health: document.getElementById("graph-health"),
    sync: document.getElementById("graph-sync"),
  };
  let canWrite = false; // may sync this app: the page data's permissions, else the session's canWrite
  let actionsSet = false;
  let busy = false;
  let tree = null;
  let openMenu = null;

  function term(label, ...value) {
    return [el("dt", {}, label), el("dd", {}, ...value)];
  }

  function renderSummary(container, app) {
    const dest = app.destination || {};
    const repo = app.repoWebURL
      ? el("a", { href: app.repoWebURL, rel: "noreferrer", target: "_blank" }, app.repoURL)
      : el("span", {}, app.repoURL);
    const flags = app.automated
      ? ["automated", app.prune ? "prune" : null, app.selfHeal ? "self-heal" : null].filter(Boolean).join(", ")
      : "manual (no automated sync)";
    container.replaceChildren(
      ...term("Sync status", el("span", { id: "app-sync" }, badge(app.sync))),
      ...term("Health", el("span", { id: "app-health" }, badge(app.health)),
        app.healthMessage ? el("span", { class: "message" }, " " + app.healthMessage) : null),
      ...term("Project", app.project),
      ...term("Repository", repo),
      ...term("Path", el("code", {}, app.path || ".")),
      ...term("Target revision", el("code", {}, app.targetRevision || "HEAD"), " → ",
        el("span", { id: "app-revision" }, shortSha(app.revision, app.revisionURL))),
      ...term("Synced revision", el("span", { id: "app-synced-revision" }, shortSha(app.syncedRevision, app.syncedRevisionURL))),
      ...term("Destination", (dest.name || dest.server || "in-cluster") + " / namespace " + (dest.namespace || "–")),
      ...term("Auto-sync", flags),
      ...term("Last compared", time(app.observedAt)),
    );
  }

  function renderConditions(container, conditions) {
    if (!conditions.length) {
      container.replaceChildren(el("li", { class: "muted" }, "No problems reported."));
      return;
    }
    container.replaceChildren(...conditions.map((c) =>
      el("li", { class: "condition", "data-type": c.type }, el("strong", {}, c.title), el("div", { class: "message" }, c.message))));
  }

  function renderOperation(container, op) {
    if (!op) {
      container.replaceChildren(el("p", { class: "muted" }, "No sync has run yet."));
      return;
    }
    const running = op.phase === "Running" || op.phase === "Terminating";
    const lines = [
      el("p", {}, badge(op.phase), " ", op.trigger ? "started by " + op.trigger + " " : "",
        op.startedAt ? time(op.startedAt) : null,
        !running && op.finishedAt ? el("span", {}, ", finished ", time(op.finishedAt)) : null),
      el("p", { class: "message", id: "operation-message" }, op.message),
    ];
    if (op.revision) lines.push(el("p", {}, "Revision ", shortSha(op.revision, null)));
    if (op.retryCount || op.nextRetryAt) {
      lines.push(el("p", { id: "operation-retry" }, "Retry attempt " + op.retryCount,
        op.nextRetryAt ? el("span", {}, ", next retry ", time(op.nextRetryAt)) : null));
    }
    if (op.results.length) {
      const rows = op.results.map((r) => el("tr", {}, el("td", {}, el("code", {}, r.resource)), el("td", {}, badge(r.status)),
        el("td", {}, r.message)));
      lines.push(el("details", {}, el("summary", {}, op.results.length + " resource result" + (op.results.length === 1 ? "" : "s")),
        el("table", { class: "results" }, el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Resource"),
          el("th", { scope: "col" }, "Result"), el("th", { scope: "col" }, "Message"))), el("tbody", {}, rows))));
    }
    if (op.hooks && op.hooks.length) {
      const rows = op.hooks.map((h) => el("tr", { "data-hook": h.name || h.generateName },
        el("td", {}, h.phase), el("td", {}, String(h.wave)),
        el("td", {}, el("code", {}, h.kind + " " + (h.namespace ? h.namespace + "/" : "") + (h.name || h.generateName + "…"))),
        el("td", {}, badge(h.status)), el("td", {}, h.message)));
      lines.push(el("table", { class: "results", id: "operation-hooks" }, el("caption", {}, "Hooks"),
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Phase"), el("th", { scope: "col" }, "Wave"),
          el("th", { scope: "col" }, "Hook"), el("th", { scope: "col" }, "Status"), el("th", { scope: "col" }, "Message"))),
        el("tbody", {}, rows)));
    }
    container.replaceChildren(...lines);
  }

  function renderChildren(container, children) {
    document.getElementById("children-section").hidden = children.length === 0;
    container.replaceChildren(...children.map((c) => el("li", { "data-child": c.name },
      el("a", { href: "/ui/apps/" + encodeURIComponent(c.name) }, c.name), " ", badge(c.sync), " ", badge(c.health))));
  }

  function renderHistory(container, data) {
    const { history, rollback } = data;
    document.getElementById("history-empty").hidden = history.length > 0;
    const reason = document.getElementById("rollback-reason");
    reason.hidden = !(canWrite && !rollback.allowed);
    reason.textContent = rollback.reason;
    container.replaceChildren(...history.map((h) => el("tr", { "data-history": h.id },
      el("td", {}, String(h.id)),
      el("td", {}, shortSha(h.revision, h.revisionURL)),
      el("td", {}, time(h.deployedAt)),
      el("td", {}, h.initiatedBy),
      el("td", {}, canWrite ? el("button", {
        type: "button", class: "secondary rollback", "data-id": h.id,
        disabled: !rollback.allowed, "aria-describedby": rollback.allowed ? null : "rollback-reason",
        title: rollback.allowed ? null : rollback.reason,
        onclick: () => rollbackTo(h),
      }, "Roll back to #" + h.id) : null))));
  }

  function render(app) {
    const parent = document.getElementById("crumb-parent");
    parent.hidden = !app.parent;
    if (app.parent) parent.replaceChildren(el("a", { href: "/ui/apps/" + encodeURIComponent(app.parent) }, app.parent));
    renderIfChanged(document.getElementById("app-summary"), app, renderSummary);
    renderIfChanged(document.getElementById("conditions"), app.conditions, renderConditions);
    renderIfChanged(document.getElementById("operation"), app.operation, renderOperation);
    renderIfChanged(document.getElementById("children"), app.children, renderChildren);
    renderIfChanged(document.querySelector("#history tbody"), { history: app.history, rollback: app.rollback, canWrite },
      renderHistory);
  }

  async function loadApp() {
    const answer = await Dashboard.api("/ui/api/apps/" + encodeURIComponent(name));
    const missing = document.getElementById("app-missing");
    if (answer.status === 404 || answer.status === 403) {
      missing.hidden = false;
      missing.textContent = Dashboard.errorText(answer.body);
      document.getElementById("app-body").hidden = true;
      return;
    }
    if (!answer.ok) {
      if (answer.status !== 401) Dashboard.notice("Could not load the application: " + Dashboard.errorText(answer.body), "error");
      return;
    }
    missing.hidden = true;
    document.getElementById("app-body").hidden = false;
    if (answer.body.permissions) canWrite = Boolean(answer.body.permissions.sync);
    if (!actionsSet) {
      actionsSet = true;
      setUpActions();
    }
    render(answer.body);
    document.body.dataset.loaded = "true";
  }

  async function refresh() {
    await Promise.all([loadApp(), loadTree()]);
  }

  // Run one action with every action button disabled, report the outcome, then re-read.
  async function act(description, request) {
    if (busy) return;
    busy = true;
    const buttons = document.querySelectorAll("#actions button, button.rollback, .menu button");
    const wasDisabled = new Map([...buttons].map((b) => [b, b.disabled]));
    buttons.forEach((b) => { b.disabled = true; });
    Dashboard.notice(description + "…", "");
    const answer = await request();
    if (answer.ok) Dashboard.notice(description + ": done (" + answer.status + ")", "ok");
    else if (answer.status !== 401) Dashboard.notice(description + " refused: " + Dashboard.errorText(answer.body), "error");
    buttons.forEach((b) => { b.disabled = wasDisabled.get(b); });
    busy = false;
    updateSelection();
    await refresh();
    return answer;
  }

  function rollbackTo(entry) {
    const short = (entry.revision || "").slice(0, 7);
    if (!window.confirm("Roll back " + name + " to history #" + entry.id + " (revision " + short + ")?")) return;
    act("Rollback of " + name + " to #" + entry.id + " queued", () => Dashboard.postJSON(base + "/rollback", { id: entry.id }));
  }

  function setUpActions() {
    const actions = document.getElementById("actions");
    if (!canWrite) {
      actions.remove(); // a caller who may not sync gets no buttons at all, not hidden ones
      return;
    }
    actions.hidden = false;
    document.getElementById("action-sync").addEventListener("click", () =>
      act("Sync of " + name + " queued", () => Dashboard.postJSON(base + "/sync", { prune: false })));
    document.getElementById("action-sync-prune").addEventListener("click", () => {
      if (!window.confirm("Sync " + name + " and delete live resources that Git no longer holds?")) return;
      act("Sync with prune of " + name + " queued", () => Dashboard.postJSON(base + "/sync", { prune: true }));
    });
    document.getElementById("action-refresh").addEventListener("click", () =>
      act("Refresh of " + name, () => Dashboard.api(base + "/diff?refresh=true")));
    document.getElementById("action-sync-selected").addEventListener("click", syncSelected);
    drawGraph(); // the checkboxes of a selective sync
  }

  // ---- the resource graph ----

  async function loadTree() {
    const answer = await Dashboard.api(base + "/resource-tree");
    if (!answer.ok) {
      if (answer.status !== 401 && answer.status !== 404 && answer.status !== 403) {
        Dashboard.notice("Could not read the resource tree: " + Dashboard.errorText(answer.body), "error");
      }
      return;
    }
    tree = answer.body;
    const liveError = document.getElementById("live-error");
    const problems = tree.problems || [];
    liveError.hidden = problems.length === 0;
    liveError.textContent = problems.join("; ");
    updateKinds();
    drawGraph();
    renderIfChanged(document.querySelector("#orphans tbody"), tree.orphanedNodes || [], renderOrphans);
    askActions();
    if (panel.node) reopen();
  }

  // The panel shows the node's data as the tree had it: follow the node into the new tree.
  function reopen() {
    const key = Graph.keyOf(panel.node);
    const fresh = (tree.nodes || []).find((n) => Graph.keyOf(n) === key);
    if (fresh) {
      document.getElementById("panel-badges").replaceChildren(fresh.sync ? badge(fresh.sync) : "",
        (fresh.health || {}).status ? badge(fresh.health.status) : "");
    }
  }

  function updateKinds() {
    const select = graphFilter.kind;
    const wanted = select.value;
    const kinds = Graph.kinds(tree);
    const current = [...select.options].slice(1).map((o) => o.value);
    if (JSON.stringify(current) !== JSON.stringify(kinds)) {
      select.replaceChildren(el("option", { value: "" }, "Any"), ...kinds.map((k) => el("option", { value: k }, k)));
      select.value = kinds.includes(wanted) ? wanted : "";
    }
  }

  function selectable(node) {
    return actionsSet && canWrite && Boolean(node.sync) && !node.hook && !node.isRoot;
  }

  function kindKey(node) {
    return (node.group || "") + "/" + node.kind;
  }

  function hasActions(node) {
    if (node.isRoot || !node.uid || node.hook) return false;
    const names = actionsOf.get(kindKey(node));
    return Boolean(names && names.length);
  }

  function drawGraph() {
    if (!tree) return;
    const filter = { kind: graphFilter.kind.value, health: graphFilter.health.value, sync: graphFilter.sync.value };
    const shown = Graph.render(document.getElementById("graph"), name, tree, filter, {
      onOpen: (item) => { if (!item.node.isRoot) panel.open(item.node); },
      selectable, selected, hasActions,
      onSelect: (node, on) => { if (on) selected.add(Graph.keyOf(node)); else selected.delete(Graph.keyOf(node)); updateSelection(); },
      onActions: showActions,
    });
    const total = (tree.nodes || []).length + (tree.hooks || []).length;
    document.getElementById("graph-count").textContent = shown === total ? total + " objects" : shown + " of " + total + " objects shown";
    document.body.dataset.graph = "ready";
  }

  // Which resource actions this caller may run, per kind in the graph (asked once per kind):
  // a node gets a menu only when there is one, so a read-only caller sees none.
  async function askActions() {
    const kinds = new Map();
    for (const node of tree.nodes || []) {
      if (node.uid && !node.hook && !actionsOf.has(kindKey(node))) kinds.set(kindKey(node), node);
    }
    if (!kinds.size) return;
    for (const key of kinds.keys()) actionsOf.set(key, null);
    await Promise.all([...kinds.values()].map(async (node) => {
      const query = new URLSearchParams({ group: node.group || "", kind: node.kind });
      const answer = await Dashboard.api("/ui/api/apps/" + encodeURIComponent(name) + "/permitted-actions?" + query);
      actionsOf.set(kindKey(node), answer.ok ? answer.body.actions : []);
    }));
    drawGraph();
  }

  function closeMenu() {
    if (openMenu) openMenu.remove();
    openMenu = null;
  }

  async function showActions(node, button) {
    closeMenu();
    const menu = el("div", { class: "menu", role: "menu", "aria-label": "Actions of " + node.kind + " " + node.name },
      el("p", { class: "muted" }, "Loading…"));
    // On the page, not in the graph: a redraw by a live update must not take the menu away.
    const rect = button.getBoundingClientRect();
    Object.assign(menu.style, { left: Math.max(rect.right + window.scrollX - 200, 0) + "px",
      top: rect.bottom + window.scrollY + 2 + "px" });
    document.body.append(menu);
    openMenu = menu;
    const query = new URLSearchParams({ group: node.group || "", version: node.version || "", kind: node.kind,
      namespace: node.namespace || "", resourceName: node.name });
    const answer = await Dashboard.api(base + "/resource/actions?" + query);
    if (openMenu !== menu) return;
    const permitted = new Set(actionsOf.get(kindKey(node)) || []);
    const offered = answer.ok ? (answer.body.actions || []).filter((a) => permitted.has(a.name)) : [];
    menu.replaceChildren(...(offered.length ? offered.map((a) => el("button", {
      type: "button", role: "menuitem", class: "secondary", "data-action": a.name, disabled: a.disabled,
      onclick: () => runAction(node, a.name),
    }, a.name)) : [el("p", { class: "muted" }, answer.ok ? "No action available now." : Dashboard.errorText(answer.body))]),
    el("button", { type: "button", class: "secondary", onclick: closeMenu }, "Cancel"));
    const first = menu.querySelector("button");
    if (first) first.focus();
  }

  function runAction(node, action) {
    if (!window.confirm("Run " + action + " on " + node.kind + " " + node.name + "?")) return;
    closeMenu();
    const body = { group: node.group || "", version: node.version || "", kind: node.kind, namespace: node.namespace || "",
      resourceName: node.name, action };
    act(action + " of " + node.kind + " " + node.name, () => Dashboard.postJSON(base + "/resource/actions", body));
  }

  function renderOrphans(container, orphans) {
    document.getElementById("orphans-section").hidden = orphans.length === 0;
    container.replaceChildren(...orphans.map((o) => el("tr", { "data-orphan": o.kind + "/" + o.name },
      el("td", {}, o.kind), el("td", {}, o.namespace || "–"), el("td", {}, o.name),
      el("td", {}, badge((o.health || {}).status || "Unknown", (o.health || {}).message)))));
  }

  // ---- selective sync ----

  function updateSelection() {
    const button = document.getElementById("action-sync-selected");
    if (!button) return;
    button.disabled = busy || selected.size === 0;
    button.textContent = selected.size ? "Sync selected (" + selected.size + ")" : "Sync selected";
  }

  function syncSelected() {
    const resources = [...selected].map((key) => {
      const [group, kind, namespace, resourceName] = key.split("/");
      return { group, kind, namespace, name: resourceName };
    });
    const names = resources.map((r) => r.kind + " " + r.name).join(", ");
    if (!window.confirm("Sync only " + names + "?")) return;
    act("Sync of " + resources.length + " resource" + (resources.length === 1 ? "" : "s") + " queued",
      () => Dashboard.postJSON(base + "/sync", { resources })).then((answer) => {
      if (answer && answer.ok) { selected.clear(); updateSelection(); drawGraph(); }
    });
  }

  // ---- live updates ----

  let appTimer = null;
  let treeTimer = null;
  function soon(what) {
    if (what === "app" && !appTimer) appTimer = setTimeout(() => { appTimer = null; loadApp(); }, 50);
    if (what === "tree" && !treeTimer) treeTimer = setTimeout(() => { treeTimer = null; loadTree(); }, 50);
  }

  for (const select of Object.values(graphFilter)) select.addEventListener("change", drawGraph);
  document.getElementById("graph-filters").addEventListener("submit", (event) => event.preventDefault());
  document.addEventListener("click", (event) => {
    if (openMenu && !openMenu.contains(event.target) && !event.target.classList.contains("node-menu")) closeMenu();
  });

  Dashboard.start((session) => {
    canWrite = session.canWrite;
    refresh();
    Dashboard.stream("/api/v1/stream/applications/" + encodeURIComponent(name), {
      subscribed() { refresh().then(() => { document.body.dataset.live = "true"; }); },
      status() { soon("app"); soon("tree"); },
      operation() { soon("app"); soon("tree"); },
      tree() { soon("tree"); },
      deleted() { soon("app"); },
      reload() { refresh(); },
    });
  });
})();
