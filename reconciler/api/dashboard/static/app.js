// One application: summary, conditions, operation, child apps, resource tree with diffs,
// history with rollback; Sync / Sync with prune / Refresh for those the RBAC policy lets sync it.
"use strict";

(() => {
  const { el, badge, shortSha, time, renderIfChanged } = Dashboard;
  const name = document.body.dataset.app;
  const base = "/api/v1/applications/" + encodeURIComponent(name);
  const openDiffs = new Set(); // which diffs the reader opened; kept across refreshes
  let canWrite = false; // may sync this app: the page data's permissions, else the session's canWrite
  let actionsSet = false;
  let busy = false;

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

  function diffBlock(resourceId, text) {
    const pre = el("pre", { class: "diff", tabindex: "0", "aria-label": "Diff of " + resourceId });
    for (const line of text.split("\n")) {
      let cls = "";
      if (line.startsWith("+") && !line.startsWith("+++")) cls = "add";
      else if (line.startsWith("-") && !line.startsWith("---")) cls = "del";
      else if (line.startsWith("@@")) cls = "hunk";
      pre.append(el("span", { class: cls }, line), "\n");
    }
    const details = el("details", { class: "diff-box", "data-diff": resourceId, open: openDiffs.has(resourceId) },
      el("summary", {}, "Diff: live (−) against Git (+)"), pre);
    details.addEventListener("toggle", () => {
      if (details.open) openDiffs.add(resourceId);
      else openDiffs.delete(resourceId);
    });
    return details;
  }

  function liveNode(node) {
    return el("li", { class: "live", "data-live": node.kind + "/" + node.name },
      el("span", { class: "kind" }, node.kind), " ", el("span", { class: "res-name" }, node.name), " ",
      badge(node.health), node.message ? el("span", { class: "message" }, " " + node.message) : null,
      node.children.length ? el("ul", {}, node.children.map(liveNode)) : null);
  }

  function resourceNode(r) {
    const id = [r.group, r.kind, r.namespace, r.name].join("/");
    const label = r.isApplication
      ? el("a", { href: "/ui/apps/" + encodeURIComponent(r.name), class: "res-name" }, r.name)
      : el("span", { class: "res-name" }, r.name);
    return el("li", { class: "resource", "data-resource": id, "data-status": r.status },
      el("div", { class: "res-line" }, label,
        r.namespace ? el("span", { class: "muted" }, " in " + r.namespace) : null, " ",
        badge(r.status), r.health ? badge(r.health) : null),
      r.message ? el("div", { class: "message" }, r.message) : null,
      r.diff ? diffBlock(id, r.diff) : null,
      r.children.length ? el("ul", { class: "live-children", "aria-label": "Live objects of " + r.name },
        r.children.map(liveNode)) : null);
  }

  function renderTree(container, tree) {
    if (!tree.length) {
      container.replaceChildren(el("p", { class: "muted" }, "No resources yet: the application has not been compared."));
      return;
    }
    container.replaceChildren(el("ul", { class: "kinds" }, tree.map((group) =>
      el("li", { class: "kind-group", "data-kind": group.kind },
        el("h3", {}, group.kind, el("span", { class: "muted" }, " (" + group.resources.length + ")")),
        el("ul", { class: "resources" }, group.resources.map(resourceNode))))));
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
    renderIfChanged(document.getElementById("tree"), app.tree, renderTree);
    renderIfChanged(document.querySelector("#history tbody"), { history: app.history, rollback: app.rollback, canWrite },
      renderHistory);
    const liveError = document.getElementById("live-error");
    liveError.hidden = !app.liveError;
    liveError.textContent = app.liveError;
  }

  async function refresh() {
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

  // Run one action with every action button disabled, report the outcome, then re-read.
  async function act(description, request) {
    if (busy) return;
    busy = true;
    const buttons = document.querySelectorAll("#actions button, button.rollback");
    const wasDisabled = new Map([...buttons].map((b) => [b, b.disabled]));
    buttons.forEach((b) => { b.disabled = true; });
    Dashboard.notice(description + "…", "");
    const answer = await request();
    if (answer.ok) Dashboard.notice(description + ": done (" + answer.status + ")", "ok");
    else if (answer.status !== 401) Dashboard.notice(description + " refused: " + Dashboard.errorText(answer.body), "error");
    buttons.forEach((b) => { b.disabled = wasDisabled.get(b); });
    busy = false;
    await refresh();
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
  }

  Dashboard.start((session) => {
    canWrite = session.canWrite;
    Dashboard.poll(refresh);
  });
})();
