"""Self-heal waits follow Argo CD's backoff (2 s x 3^n, capped at 300 s), so a fight with
another controller over a field never loops hot."""

from __future__ import annotations

from reconciler.control.poll import self_heal_wait


def test_first_self_heal_is_immediate() -> None:
    assert self_heal_wait(0) == 0


def test_self_heal_waits_grow_by_a_factor_of_three() -> None:
    assert [self_heal_wait(n) for n in range(1, 6)] == [2, 6, 18, 54, 162]


def test_self_heal_wait_is_capped_at_five_minutes() -> None:
    assert self_heal_wait(6) == 300
    assert self_heal_wait(50) == 300
