"""expr-lang (antonmedv/expr) conditions, as Argo CD Notifications' triggers write them."""

from reconciler.control.notifications.expr.evaluate import ExprRefused, Program, compile_expression
from reconciler.control.notifications.expr.values import ExprError, go_format

__all__ = ["ExprError", "ExprRefused", "Program", "compile_expression", "go_format"]
