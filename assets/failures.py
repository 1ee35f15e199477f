"""Why a run failed, in one sentence: shared by `creditctl run` (an in-process result) and the
run-failure sensor (the instance's event log)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from dagster import AssetCheckEvaluation, AssetCheckSeverity, DagsterEvent

#: "etl.ports.ConnectorError: cannot connect ..." -> the sentence for the user
_QUALIFIED_ERROR = re.compile(r"^[\w.]+\.\w*(Error|Exception): ")


class Reason(NamedTuple):
    step: str
    text: str
    from_exception: bool  # an unexpected exception (text is its first line), not a Failure or a check


def first_failure(evaluations: Iterable[tuple[str | None, AssetCheckEvaluation]],
                  step_failures: Iterable[DagsterEvent]) -> Reason | None:
    """The first failed blocking check (its step key, if known, with it), else the first failed step.

    A failed blocking check comes first: the step failure it causes only says that a check failed.
    """
    for step, evaluation in evaluations:
        if evaluation.passed or evaluation.severity != AssetCheckSeverity.ERROR:
            continue
        check = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        meta = evaluation.metadata.get("message")
        detail = meta.value if meta is not None else ", ".join(
            f"{k}={v.value}" for k, v in evaluation.metadata.items() if k not in ("failing_sample", "sample"))
        return Reason(step or check, f"check {check} failed: {detail}", False)
    for event in step_failures:
        data = event.step_failure_data
        if data is None:
            continue
        step = event.step_key or "?"
        if data.user_failure_data is not None and data.user_failure_data.description:
            return Reason(step, data.user_failure_data.description, False)
        if data.error is not None:
            cause = data.error.cause or data.error
            first = cause.message.strip().splitlines()[0] if cause.message.strip() else type(cause).__name__
            return Reason(step, _QUALIFIED_ERROR.sub("", first, count=1), True)
    return None
