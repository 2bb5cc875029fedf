"""Baselines beside the weak model and the ceiling: rules that read no model at all.

- ``shorter-chosen``: the shorter text (in characters; both texts share the prompt, so this compares the
  responses) is the chosen one; HH-RLHF harmless rewards brevity often enough to make this a real competitor;
- ``longer-chosen``: the opposite rule;
- ``first-chosen``: a constant, always the first text (the seeded order swap makes this about 50 %).

A rule's P(first chosen) is 1 - gamma for its choice and gamma otherwise (1/2 on a tie): finite logits, and
an accuracy that is the rule's. They are saved as runs of role ``baseline``: summaries read them like any run.
"""

from __future__ import annotations

import numpy as np

from .data import PreferencePair

RULES = ("shorter-chosen", "longer-chosen", "first-chosen")


def rule_probabilities(rule: str, pairs: list[PreferencePair], gamma: float) -> np.ndarray:
    first = np.array([len(p.first) for p in pairs])
    second = np.array([len(p.second) for p in pairs])
    if rule == "shorter-chosen":
        choice = np.sign(second - first)  # +1: first is shorter, so first is chosen
    elif rule == "longer-chosen":
        choice = np.sign(first - second)
    elif rule == "first-chosen":
        choice = np.ones(len(pairs))
    else:
        raise ValueError(f"unknown rule {rule!r}; rules: {', '.join(RULES)}")
    return np.where(choice > 0, 1 - gamma, np.where(choice < 0, gamma, 0.5))
