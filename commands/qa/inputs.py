"""The qa component's input for the score: :func:`qa_inputs` ``(session, period) -> DataFrame``."""

from __future__ import annotations

import pandas as pd
from sqlmodel import Session

from scoring.qa import qa_frame
from storage import qa as store
from storage.models import Period


def qa_inputs(session: Session, period: Period) -> pd.DataFrame:
    """The ``qa`` frame of :class:`scoring.ScoreInputs`, indexed by agent id (``str``): ``score`` =
    mean sample score 0–100 of the period's submitted regular reviews, ``count`` = scored samples.

    Calibration reviews never count; a sample where no check applied has no score and is left out.
    """
    pairs = [
        (str(sample.member_id), review.score)
        for review, sample in store.regular_reviews(session=session, period=period)
    ]
    return qa_frame(pairs)
