// The ApplicationSets page: each set with its conditions and the applications it owns (sync,
// health, rollout step), from /ui/api/appsets, read again as the applications stream reports
// changes. Text only (textContent).
"use strict";

(() => {
  const { el, badge } = Dashboard;

  function conditionLine(condition) {
    const bad = condition.type === "ErrorOccurred" ? condition.status === "True" : condition.status === "False";
    return el("li", { class: bad ? "condition bad" : "condition" },
      el("strong", {}, condition.type + "=" + condition.status), " (" + (condition.reason || "") + ") ",
      condition.message || "");
  }

  function setSection(set) {
    const steps = {};
    for (const row of set.applicationStatus || []) steps[row.application] = row;
    const rows = (set.resources || []).map((app) => el("tr", {},
      el("td", {}, el("a", { href: "/ui/apps/" + encodeURIComponent(app.name) }, app.name)),
      el("td", {}, badge(app.status)),
      el("td", {}, badge((app.health || {}).status)),
      el("td", {}, steps[app.name] ? "step " + steps[app.name].step + ": " + steps[app.name].status : "–")));
    return el("section", { class: "appset", "data-appset": set.name },
      el("h2", {}, set.name),
      el("p", { class: "muted" }, "generators: " + set.generators.join(", ") + " · " + set.applicationsSync +
        " · " + set.strategy + " · " + set.applications + " applications, " + set.synced + " synced, " +
        set.healthy + " healthy"),
      el("ul", { class: "conditions" }, (set.conditions || []).map(conditionLine)),
      el("table", { class: "apps" },
        el("thead", {}, el("tr", {}, el("th", {}, "Application"), el("th", {}, "Sync"), el("th", {}, "Health"),
          el("th", {}, "Rollout"))),
        el("tbody", {}, rows)));
  }

  async function refresh() {
    const answer = await Dashboard.api("/ui/api/appsets");
    if (!answer.ok) {
      if (answer.status !== 401) Dashboard.notice("Could not load the ApplicationSets: " + Dashboard.errorText(answer.body), "error");
      return;
    }
    const sets = answer.body;
    document.getElementById("appsets").replaceChildren(...sets.map(setSection));
    const empty = document.getElementById("appsets-empty");
    empty.hidden = sets.length > 0;
    empty.textContent = "No ApplicationSets registered yet: register one with `reconciler app create -f FILE`.";
    document.getElementById("appsets-summary").textContent = sets.length + " ApplicationSet" + (sets.length === 1 ? "" : "s");
    document.body.dataset.loaded = "true";
  }

  // The sets' apps change as their statuses and operations do: read the page again on each
  // event of the applications stream, at most once a second (a set's own run writes its apps).
  let again = null;
  const changed = () => {
    if (again === null) again = setTimeout(() => { again = null; refresh(); }, 1000);
  };
  Dashboard.start(() => {
    refresh();
    Dashboard.stream("/api/v1/stream/applications", {
      subscribed() { refresh(); }, status: changed, operation: changed, deleted: changed, reload: () => refresh(),
    });
  });
})();
