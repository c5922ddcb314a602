"""The problem as stated: settings (a Spec and its URL form), limits, groups, ties, the Problem."""
