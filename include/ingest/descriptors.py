"""Descriptors -- what tasks pass each other through XCom -- as typed contracts.

XCom still carries plain JSON (docs/architecture.md §3: descriptors, never data); each task
checks what it receives against the model of what its upstream promised, so a renamed or
missing field fails at the boundary -- naming the task, the descriptor and the field --
instead of as a KeyError deep inside a step. Models name only what the steps rely on;
other fields (a provider's bucket, scope, partition …) pass as they are.

``received(Model, value, "task")`` returns ``value`` unchanged (the dict), or raises
``PermanentError``: a malformed descriptor does not get better on retry. The billing
models are in include/ingest/billing/descriptors.py, the catalog batch in catalog/tasks.py.
"""
from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from include.ingest.errors import PermanentError


class Descriptor(BaseModel):
    model_config = ConfigDict(extra="allow")


M = TypeVar("M", bound=Descriptor)


def received(model: type[M], value, task: str):
    """`value` if it holds what `model` names, else `PermanentError` saying which field."""
    try:
        model.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'the value'}: {e['msg']}"
                             for e in exc.errors())
        raise PermanentError(f"{task}: expected a {model.__name__} descriptor from upstream, got one "
                             f"that does not fit: "
                             f"{problems}; the upstream task and this one disagree on the contract "
                             f"({model.__module__}) -- deploy one version of the "
                             f"code, then clear both tasks") from None
    return value
