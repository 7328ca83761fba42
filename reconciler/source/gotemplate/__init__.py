"""Go text/template with Sprig, as Argo CD's ApplicationSet and notification templates use it.

Rendered by Helm's Go engine (helm_python), never by a Python lookalike; see engine.py for
how many templates share one call and rewrite.py for the functions Argo CD adds.
"""

from reconciler.source.gotemplate.engine import GoTemplateError, GoTemplateJob, render_go_template, render_go_templates

__all__ = ["GoTemplateError", "GoTemplateJob", "render_go_template", "render_go_templates"]
