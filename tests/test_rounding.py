"""The exact solver's first incumbents under several limits: an allocation over a limit is
moved back within every limit (``solving.rounding``), by hand-solved instances."""

from __future__ import annotations

import numpy as np
from factory import make_problem

from mpq_core import Limit
from mpq_core.model.limits import resolve_limits
from mpq_core.model.spec import Spec
from mpq_core.solving.instance import make_instance
from mpq_core.solving.rounding import repaired


# Two layers whose options are each the cheaper in one limit (as NVFP4 and INT4 g128 are):
#   option 4: lat 1, mem 3;  option 8: lat 3, mem 1.  Scores a: 1 / 2, b: 1 / 1.5.
# Limits lat <= 4 and mem <= 4. Both at 4: mem 6, over. Moving a to 8 brings mem to 4 and
# gains 1 (the better of the two moves, b's gains 0.5); then b at 8 would put lat at 6.
# So (8, 4): objective 1 (the objective counts the score over each layer's lowest width),
# which brute force over the four allocations confirms.
def crossed(lat_cap: str = "4", mem_cap: str = "4"):
    p = make_problem(
        [1, 1], [{"4": 1.0, "8": 2.0}, {"4": 1.0, "8": 1.5}], names=["a", "b"],
        higher_is_better=True, spec=Spec(ladder=(4, 8)),
        resources={"lat": [{4: 1, 8: 3}, {4: 1, 8: 3}], "mem": [{4: 3, 8: 1}, {4: 3, 8: 1}]},
    )  # fmt: skip
    limits = [Limit("lat", lat_cap), Limit("mem", mem_cap)]
    return make_instance(p, tuple(resolve_limits(p, limits)))


def test_an_allocation_over_one_limit_is_moved_back_by_the_best_move():
    inst = crossed()
    start = np.array([0, 0])
    assert not inst.fits(start)
    choice = repaired(inst, start)
    assert choice.tolist() == [1, 0]
    assert inst.fits(choice) and inst.objective(choice) == 1.0
    best = max(
        inst.objective(np.array(c)) for c in ([0, 0], [0, 1], [1, 0], [1, 1])
        if inst.fits(np.array(c))
    )  # fmt: skip
    assert best == 1.0


def test_room_left_is_spent_on_upgrades_that_fit():
    # lat <= 6 and mem <= 6: (4, 4) fits with room; both upgrades fit (lat 6, mem 2)
    inst = crossed("6", "6")
    choice = repaired(inst, np.array([0, 0]))
    assert choice.tolist() == [1, 1] and inst.objective(choice) == 1.5


def test_no_move_can_meet_the_limits():
    # lat <= 1: no allocation has lat below 2
    inst = crossed("1", "4")
    assert repaired(inst, np.array([0, 0])) is None


def test_the_rounded_lp_solution_meets_every_limit():
    """HiGHS's LP solution made whole meets both limits. With lat <= 5.4 and mem <= 4 the LP
    takes a at 8 and b 0.7 at 8: b's option of least summed share (8) puts lat at 6, and
    before the moves the fallback (each layer's largest share, the same) was over too."""
    from mpq_core.solving.deadline import Deadline
    from mpq_core.solving.milp import solve_relaxation

    for caps in (("4", "4"), ("5.4", "4"), ("6", "6")):
        inst = crossed(*caps)
        rounded = solve_relaxation(inst, Deadline.after(10)).rounded
        assert rounded is not None and inst.fits(rounded), caps
