"""Solving: the solver registry, the greedy and exact solvers and their parts, sweeps, solutions."""
