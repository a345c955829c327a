"""One month of kpibot, defined once (:mod:`tests.month.scenario`) and played on each messenger
(:mod:`tests.month.platforms`): self-review, manager review, publish, results, feedback
meeting, appeal (issue 19)."""
