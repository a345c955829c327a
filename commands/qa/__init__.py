"""``/qa``: quality sampling (质检) in chat — review samples, see your results, draw, calibrate.

    /qa                          reviewer: your next sample; agent: your QA results
    /qa next                     reviewer: your next sample
    /qa results [PERIOD]         agent: your reviewed samples, scores, failed checks, comments
    /qa dispute N REASON         agent: dispute QA result N (becomes an appeal of the qa component)
    /qa draw [TEAM] [PERIOD] [seed=N]   manager/admin: draw the period's samples (seed recorded)
    /qa calibrate SAMPLE NAME …  admin: send one sample to several reviewers
    /qa agreement SAMPLE         admin: their agreement and the spread of their totals

The scorecard is part of the scheme's qa component (parsed by ``scoring.scheme_parser``,
every problem reported at once naming the check and the field)::

    [[components]]
    kind = "qa"
    weight = 20
    min_samples = 3                     # fewer scored samples: below_min (exclude | default)
    blind = false                       # true: reviewers never see whose conversation it is
    reviewers = ["qa", "manager"]       # roles with a review queue (qa, manager, admin)
    sample = { per = "week", count = 2 }  # or share = 0.05; per = day | week | period
    link = "https://desk.example.com/t/{ref}"   # optional: opens the original session

    [[components.checks]]
    id = "identity_check"
    name = { zh = "按规定核实客户身份", en = "Verified the caller's identity" }
    points = 20                         # or weight = 20 (relative, the same thing)
    critical = true                     # failing it fails the whole sample (0)
    na = true                           # may be answered N/A (left out of the total); default true

A sample scores ``100 × points passed ÷ points of the checks that apply`` (``scoring.qa``);
the period's regular reviews give the qa component its mean and count
(:func:`qa_inputs`, used by ``commands.results.gather``). Calibration reviews never count.

Who reviews is decided in :mod:`commands.permissions` (``can_qa_review``): the scheme's
``reviewers`` roles (default qa and manager), a qa member for their own team, a manager for
the teams they manage, never one's own conversation. Parts: :mod:`.sampling` (the draw),
:mod:`.sessions` (loading sessions, ``store_sessions`` for the KPI import), :mod:`.review`
(the form and the queue), :mod:`.calibration`, :mod:`.results` (agent view, disputes,
``qa_inputs`` for the score).

The chat command is ``commands.qa.chat``; this file only says what the package does, so
importing one of its modules (``commands.results`` reads ``commands.qa.inputs``) imports no more.
"""
