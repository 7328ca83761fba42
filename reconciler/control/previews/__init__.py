"""Pull-request previews (issue 30, docs/previews.md): what a change between two commits of a
repository does to every app that uses it, before it merges.

    request.py      PreviewRequest / PullRequest: plain data that crosses processes
    select.py       the apps a repository concerns, and which ones a change touches
    app_preview.py  one app: render at base and head (render cache), compare head with live (dry-run)
    children.py     apps an app-of-apps adds or removes at head
    appsets.py      apps an ApplicationSet adds or removes at head
    run.py          the whole preview; stops when a newer push supersedes it
    document.py     the document's verdicts: exit code, commit state, headline, RBAC filtering
    markdown.py     the document as Markdown (CLI, pull-request comment)
    hosts.py        GitHub, GitLab and Gitea comment and status APIs
    publish.py      the result posted to the pull request
    lifecycle.py    queued -> running -> finished | failed | cancelled, in Redis
"""
