"""Evaluation harnesses: whole nodes fed by the simulator, scored against its ground truth.

They sit apart from the domains they score, so that `models/` and `rules/` never import
the composition root (`zhian.node`) or the simulator (`zhian.sim`). `zhian eval` runs them.
"""
