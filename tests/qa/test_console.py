"""/qa at the terminal: the console chat that ``kpibot chat`` runs, numbers pressing buttons."""

from __future__ import annotations

from pathlib import Path

from bot.console import ConsoleChat
from commands.router import Router


def test_a_reviewer_scores_a_sample_at_the_terminal_and_the_agent_reads_it(
    router: Router, tmp_path: Path
) -> None:
    ConsoleChat(router, "Mary", tmp_path).send("/qa draw seed=3")
    quinn = ConsoleChat(router, "Quinn", tmp_path)
    shown = quinn.send("/qa")
    assert "Question 1 of 4: Greeting" in shown and "1) Pass" in shown and "3) N/A" in shown
    assert "Question 2 of 4" in quinn.send("3")  # greeting: N/A
    assert "Question 3 of 4" in quinn.send("1")  # identity: pass
    assert "Question 4 of 4" in quinn.send("2")  # answer: fail
    summary = quinn.send("Explain the refund rule.")
    assert (
        "1. Greeting: N/A" in summary and "Sample score: 37.5" in summary
    )  # 30 of the 80 points that apply
    assert "Send /qa for the next sample" in quinn.send("#1")  # Submit
    nxt = quinn.send("/qa")
    assert "Quality review of sample 2" in nxt
