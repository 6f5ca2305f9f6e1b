"""Rules shared by the reading services and selectors: when an answer is complete, where a
reader may go."""

from __future__ import annotations


def rating_is_complete(rating, *, forced_choice: bool) -> bool:
    """A score, plus real/synthetic and confidence when the study asks for them."""
    if rating is None or rating.score is None:
        return False
    return not forced_choice or (bool(rating.forced_choice) and rating.confidence is not None)


def navigation_allows_open(assignment, position: int, answered: set[int]) -> bool:
    """May the reader open item ``position``?

    Forward: one step past the furthest item reached, and only once that item is answered.
    Back: anywhere up to the furthest item when the study allows it, else only the current one.
    """
    if position > assignment.furthest:
        return position == assignment.furthest + 1 and assignment.furthest in answered
    if assignment.study.allow_back:
        return True
    return position == assignment.furthest
