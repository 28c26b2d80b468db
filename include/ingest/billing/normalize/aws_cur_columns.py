"""AWS CUR column access for both dialects: legacy (``lineItem/UnblendedCost``) and
CUR 2.0 / Athena (``line_item_unblended_cost``), plus tags.

Every source column gets a *canonical* snake_case name. AWS derived the CUR 2.0 names
mechanically from the legacy ones (an underscore before each capital, lower-cased:
``savingsPlan/SavingsPlanARN`` -> ``savings_plan_savings_plan_a_r_n``), so applying the
same rule to legacy headers makes one lookup serve both. CUR 2.0 moved most
``product/*`` attributes into the ``product`` map column; a canonical ``product_x``
that is not a column is looked up as key ``x`` of that map.

Tags (FOCUS ``Tags``: a JSON object, keys unique, values never altered):

=========================================  ==========================
source                                     FOCUS key
=========================================  ==========================
legacy ``resourceTags/user:CostCenter``     ``CostCenter`` (user tags: prefix dropped)
legacy ``resourceTags/aws:createdBy``       ``aws:createdBy`` (provider-defined: kept)
legacy ``costCategory/Team``                ``costCategory/Team``
CUR 2.0 ``resource_tags`` map ``user_team``  ``team``
CUR 2.0 ``cost_category`` map ``team``       ``costCategory/team``
Athena ``resource_tags_user_team``           ``team``
=========================================  ==========================

CUR 2.0 / Athena already lower-case and underscore tag keys, so a tag ``CostCenter``
shows up as ``CostCenter`` from a legacy CSV but ``cost_center`` from CUR 2.0: we
keep what each export says rather than guess the original spelling. Empty tag cells
mean "resource not tagged with this key" in CUR, so they are left out.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from include.ingest.billing.normalize import arrow_parse
from include.ingest.billing.normalize.source import SourceBatch

_CAPITAL = re.compile(r"(?<!^)([A-Z])")
_MAP_COLUMNS = ("resource_tags", "cost_category", "product")


@lru_cache(maxsize=4096)
def snake(part: str) -> str:
    return _CAPITAL.sub(r"_\1", part).lower()


@lru_cache(maxsize=4096)
def canonical(name: str) -> str:
    """``lineItem/UnblendedCost`` -> ``line_item_unblended_cost``; snake names unchanged."""
    name = name.strip().lstrip("\ufeff")
    category, slash, field = name.partition("/")
    return f"{snake(category)}_{snake(field)}" if slash else name.lower()


@lru_cache(maxsize=4096)
def tag_key(name: str) -> str | None:
    """FOCUS tag key for a flattened tag column, ``None`` if ``name`` is not one."""
    name = name.strip().lstrip("\ufeff")
    if name.startswith("resourceTags/"):
        key = name[len("resourceTags/"):]
        return key[len("user:"):] if key.startswith("user:") else key
    if name.startswith("costCategory/"):
        return name
    if name.startswith("resource_tags_"):
        key = name[len("resource_tags_"):]
        return key[len("user_"):] if key.startswith("user_") else key
    if name.startswith("cost_category_"):
        return "costCategory/" + name[len("cost_category_"):]
    return None


def resource_parts(resource_id: str | None) -> tuple[str | None, str | None]:
    """(ResourceName, ResourceType) from an ARN; a plain ID (``i-0abc``, a bucket name)
    is its own name and has no type we could state without guessing."""
    if not resource_id:
        return None, None
    parts = resource_id.split(":", 5)
    if not resource_id.startswith("arn:") or len(parts) < 6:
        return resource_id, None
    service, rest = parts[2], parts[5]
    for sep in ("/", ":"):
        if sep in rest:
            kind, name = rest.split(sep, 1)
            return name or rest, f"{service}/{kind}" if kind else service
    return rest, service


def _as_mapping(value: Any) -> dict[str, Any]:
    """A map cell as a dict: Arrow MAP (list of pairs), dict, or JSON text (CUR 2.0 CSV)."""
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return dict(value)
    if isinstance(value, str):
        parsed = json.loads(value)
        if isinstance(parsed, dict):
            return parsed
        raise ValueError(f"a JSON {type(parsed).__name__}")
    raise ValueError(f"a {type(value).__name__}")


class CurColumns:
    """Typed, canonical-name access to one CUR batch; parse problems land in ``reasons``."""

    def __init__(self, source: SourceBatch) -> None:
        self.source = source
        self.num_rows = source.num_rows
        self.reasons: dict[int, list[str]] = {}
        self._by_canonical: dict[str, str] = {}
        self._tag_columns: list[tuple[str, str]] = []
        self._maps: dict[str, str] = {}
        self._parsed_maps: dict[str, list[dict[str, Any] | None]] = {}
        for name in source.names:
            key = tag_key(name)
            if key is not None:
                self._tag_columns.append((name, key))
                continue
            canon = canonical(name)
            if canon in _MAP_COLUMNS:
                self._maps[canon] = name
            else:
                self._by_canonical.setdefault(canon, name)

    def flag(self, index: int, reason: str) -> None:
        self.reasons.setdefault(index, []).append(reason)

    def flag_mask(self, mask: pa.Array, reason: str) -> None:
        if not pc.any(mask).as_py():
            return
        for i in pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist():
            self.flag(i, reason)

    def label(self, canon: str) -> str:
        """The column's name as the file spells it (for messages)."""
        return self._by_canonical.get(canon, canon)

    def has(self, canon: str) -> bool:
        return canon in self._by_canonical

    def _map_rows(self, map_name: str) -> list[dict[str, Any] | None]:
        """Parsed cells of a map column; an unreadable cell is ``None`` plus a reason."""
        if map_name not in self._parsed_maps:
            source_name = self._maps[map_name]
            parse = arrow_parse.cached(_as_mapping)
            rows: list[dict[str, Any] | None] = []
            for i, value in enumerate(self.source.pylist(source_name)):
                try:
                    rows.append(parse(value) if isinstance(value, (str, type(None))) else _as_mapping(value))
                except ValueError as exc:
                    rows.append(None)
                    self.flag(i, f"expected {source_name} as a JSON object / map, got {exc}: {str(value)[:80]!r}")
            self._parsed_maps[map_name] = rows
        return self._parsed_maps[map_name]

    def _raw(self, canon: str) -> pa.Array | None:
        if canon in self._by_canonical:
            return self.source.column(self._by_canonical[canon])
        if canon.startswith("product_") and "product" in self._maps:
            key = canon[len("product_"):]
            values = [None if m is None else m.get(key) for m in self._map_rows("product")]
            return pa.array([None if v is None else str(v) for v in values], pa.string())
        return None

    def strings(self, canon: str) -> pa.Array:
        raw = self._raw(canon)
        return pa.nulls(self.num_rows, pa.string()) if raw is None else arrow_parse.strings(raw)

    def decimals(self, canon: str) -> pa.Array:
        raw = self._raw(canon)
        if raw is None:
            return pa.nulls(self.num_rows, arrow_parse.MONEY)
        values, problems = arrow_parse.decimals(raw)
        for i, problem in problems.items():
            self.flag(i, f"{self.label(canon)}: {problem}")
        return values

    def timestamps(self, canon: str) -> pa.Array:
        raw = self._raw(canon)
        if raw is None:
            return pa.nulls(self.num_rows, arrow_parse.TIMESTAMP)
        values, problems = arrow_parse.timestamps(raw)
        for i, problem in problems.items():
            self.flag(i, f"{self.label(canon)}: {problem}")
        return values

    def require(self, canon: str, values: pa.Array, why: str = "", where: pa.Array | None = None) -> None:
        """Quarantine rows where ``values`` is NULL -- only rows where ``where`` is true,
        when given -- unless the row already has a reason (a bad value became NULL)."""
        if values.null_count:
            suffix = f" {why}" if why else ""
            missing = pc.is_null(values) if where is None else pc.and_(pc.is_null(values), where)
            for i in pc.indices_nonzero(pc.fill_null(missing, False)).to_pylist():
                if i not in self.reasons:
                    self.flag(i, f"expected {self.label(canon)}{suffix}, got an empty value")

    def tags_json(self) -> pa.Array:
        """FOCUS ``Tags`` per row: compact JSON, keys sorted, NULL when untagged.

        Real CURs carry dozens to hundreds of tag columns, mostly empty. Flattened tag
        columns are therefore assembled with Arrow string kernels (each distinct value
        JSON-escaped once by ``json.dumps``); only map columns (CUR 2.0) need a per-row
        merge, and identical map cells are converted once.
        """
        if any(m in self._maps for m in ("resource_tags", "cost_category")):
            return self._tags_from_maps()
        by_key: dict[str, pa.Array] = {}
        for name, key in self._tag_columns:
            values = arrow_parse.strings(self.source.column(name))
            if values.null_count == len(values):
                continue
            # Two columns naming the same key (e.g. a BOM variant): the first value wins.
            by_key[key] = pc.coalesce(by_key[key], values) if key in by_key else values
        if not by_key:
            return pa.nulls(self.num_rows, pa.string())
        # Sparse assembly, proportional to the non-empty cells: one '"key":"value"'
        # fragment per tagged cell, stably sorted by row (so keys stay in sorted order
        # within a row), grouped into one list per row, joined with ",".
        row_parts, fragment_parts = [], []
        for key in sorted(by_key):
            values = by_key[key]
            present = pc.indices_nonzero(pc.is_valid(values))
            escaped = arrow_parse.map_distinct(values.take(present), _json, pa.string())
            row_parts.append(present)
            fragment_parts.append(pc.binary_join_element_wise(pa.scalar(_json(key) + ":"), escaped, ""))
        rows = pa.concat_arrays(row_parts)
        order = pc.sort_indices(rows)  # stable
        runs = pc.run_end_encode(rows.take(order))
        offsets = pa.concat_arrays([pa.array([0], pa.int32()), pc.cast(runs.run_ends, pa.int32())])
        per_row = pa.ListArray.from_arrays(offsets, pa.concat_arrays(fragment_parts).take(order))
        objects = pc.binary_join_element_wise("{", pc.binary_join(per_row, ","), "}", "")
        positions = pc.index_in(pa.array(range(self.num_rows), rows.type), value_set=runs.values)
        return objects.take(positions)  # NULL for untagged rows

    def _tags_from_maps(self) -> pa.Array:
        per_row: dict[int, dict[str, Any]] = {}
        for name, key in self._tag_columns:
            for i, value in enumerate(arrow_parse.strings(self.source.column(name)).to_pylist()):
                if value is not None:
                    per_row.setdefault(i, {})[key] = value
        for map_name, prefix in (("resource_tags", None), ("cost_category", "costCategory/")):
            if map_name not in self._maps:
                continue
            for i, cell in enumerate(self._map_rows(map_name)):
                for k, v in (cell or {}).items():
                    if v is None or v == "":
                        continue
                    if prefix is None:
                        k = k[len("user_"):] if k.startswith("user_") else k
                    else:
                        k = prefix + k
                    per_row.setdefault(i, {})[k] = v
        out: list[str | None] = [None] * self.num_rows
        serialized: dict[tuple[tuple[str, Any], ...], str] = {}
        for i, tags in per_row.items():
            items = tuple(sorted(tags.items()))
            try:
                text = serialized.get(items)
            except TypeError:  # an unhashable (nested) value: FOCUS validation rejects it
                text = json.dumps(dict(items), ensure_ascii=False, separators=(",", ":"))
            if text is None:
                text = serialized[items] = json.dumps(dict(items), ensure_ascii=False, separators=(",", ":"))
            out[i] = text
        return pa.array(out, pa.string())


def _json(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)
