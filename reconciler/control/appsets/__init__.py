"""ApplicationSets: fleets of Applications generated from lists, clusters, Git and pull requests.

context     what generators read (clusters, Git, SCM tokens) and GeneratorError
generators  one module per generator (list, clusters, git, matrix, merge, pull_request,
            scm_provider) and what they share (selector, per-generator template)
scm         the hosting APIs (GitHub, GitLab, Gitea, Bitbucket Server) behind one HTTP function
template    fasttemplate and Go template rendering of the Application template
generate    set -> the Applications it wants (checked against their AppProject); no Redis
reconcile   one generation run on a worker: create / update / delete, the deletion cap, status
strategy    RollingSync: step-by-step syncs
status      Argo CD's conditions and status.resources
clusters    the known clusters (cluster Secrets and in-cluster)
actions     what the CLI and the API ask: register, list, get, generate (dry run), delete
"""
