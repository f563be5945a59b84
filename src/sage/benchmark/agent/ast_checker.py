"""BFCL's AST check of a model's calls against the possible answers (Python semantics
of the Berkeley Function Calling Leaderboard's checker, re-implemented): the function
name, every required parameter present, no parameter the function or the answer does
not know, each value of the declared type (an int passes for a float) and among the
accepted values after BFCL's string normalisation; an omitted parameter must be
optional in the answer (``""`` among its values). ``multiple`` needs exactly one call,
``parallel*`` every answer matched by a distinct call in any order, ``irrelevance`` no
call at all.

A call is ``{name: {param: value}}``, values decoded from the model's JSON arguments."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

PY_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
_STRIP = re.compile(r"[ ,./\-_*^]")

Call = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Verdict:
    valid: bool
    error: str = ""  # BFCL's error family, e.g. "value_error:string"

    def __bool__(self) -> bool:
        return self.valid


OK = Verdict(True)


def standardize(text: str) -> str:
    """BFCL's string normalisation: no spaces or ``,./-_*^``, lower case, ' -> "."""
    return _STRIP.sub("", text).lower().replace("'", '"')


def _norm(value: Any) -> Any:
    return standardize(value) if isinstance(value, str) else value


def _answer_type(accepted: list[Any]) -> type | None:
    return next((type(a) for a in accepted if a != ""), None)


def _type_ok(value: Any, spec: dict[str, Any], accepted: list[Any]) -> tuple[bool, bool]:
    """(type fits, value is a variable name). BFCL takes a value of the answer's type
    where the declared type differs as a variable, compared as is."""
    declared = str(spec.get("type", "any"))
    expected = PY_TYPES.get(declared, str)
    answer_type = _answer_type(accepted)
    variable = answer_type is not None and answer_type is not expected
    if type(value) is expected:
        nested = (spec.get("items") or {}).get("type") if declared in ("array", "tuple") else None
        if nested is None:
            return True, variable
        inner = PY_TYPES.get(str(nested), str)
        for option in accepted:
            if isinstance(option, list) and all(
                type(v) is inner or (_answer_type(option) is not None and type(v) is _answer_type(option))
                for v in value
            ):
                return True, variable
    if answer_type is not None and type(value) is answer_type:
        return True, True
    return False, variable


def _dict_ok(value: dict[str, Any], accepted: list[Any]) -> bool:
    for option in accepted:
        if option == "" or not isinstance(option, dict):
            continue
        if all(
            k in option and _norm(v) in [_norm(a) for a in option[k]] for k, v in value.items()
        ) and all(k in value or "" in vals for k, vals in option.items()):
            return True
    return False


def _list_of_dicts_ok(value: list[Any], accepted: list[Any]) -> bool:
    return any(
        isinstance(option, list)
        and len(option) == len(value)
        and all(isinstance(v, dict) and _dict_ok(v, [o]) for v, o in zip(value, option, strict=True))
        for option in accepted
    )


def check_call(function: dict[str, Any], call: Call, answer: Call) -> Verdict:
    """One call against one answer ``{name: {param: [accepted values]}}``."""
    name = function["name"]
    if name not in call:
        return Verdict(False, "simple_function_checker:wrong_func_name")
    args = call[name]
    expected = next(iter(answer.values()))
    params = function.get("parameters") or {}
    props: dict[str, Any] = params.get("properties") or {}
    if any(p not in args for p in params.get("required") or []):
        return Verdict(False, "simple_function_checker:missing_required")
    for param, value in args.items():
        if param not in props or param not in expected:
            return Verdict(False, "simple_function_checker:unexpected_param")
        spec, accepted = props[param], expected[param]
        declared = str(spec.get("type", "any"))
        if declared == "float" and type(value) is int:
            value = float(value)
        fits, variable = _type_ok(value, spec, accepted)
        if not fits:
            return Verdict(False, "type_error")
        expected_type = PY_TYPES.get(declared, str)
        nested = (spec.get("items") or {}).get("type")
        if variable:
            good = value in accepted
        elif expected_type is dict:
            good = _dict_ok(value, accepted)
        elif expected_type is list and nested == "dict":
            good = _list_of_dicts_ok(value, accepted)
        elif expected_type is str:
            good = standardize(value) in [standardize(a) for a in accepted if isinstance(a, str)]
        elif expected_type is list:
            good = [_norm(v) for v in value] in [
                [_norm(a) for a in option] for option in accepted if isinstance(option, list)
            ]
        else:
            good = value in accepted
        if not good:
            kind = {str: "string", list: "list", dict: "dict"}.get(expected_type, "others")
            return Verdict(False, f"value_error:{kind}")
    for param, accepted in expected.items():
        if param not in args and "" not in accepted:
            return Verdict(False, "simple_function_checker:missing_optional")
    return OK


def _function(functions: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next((f for f in functions if f["name"] == name), {"name": name})


def check_item(
    category: str, functions: list[dict[str, Any]], calls: list[Call], answers: list[Call]
) -> Verdict:
    """The verdict for one BFCL item of ``category`` (its file's stem or short name)."""
    if "irrelevance" in category:
        return OK if not calls else Verdict(False, "irrelevance:called")
    if len(calls) != len(answers):
        return Verdict(False, "wrong_count")
    if "parallel" in category:
        used: set[int] = set()
        for answer in answers:
            function = _function(functions, next(iter(answer)))
            match = next(
                (i for i, c in enumerate(calls) if i not in used and check_call(function, c, answer)),
                None,
            )
            if match is None:
                return Verdict(False, "parallel:cannot_find_match")
            used.add(match)
        return OK
    return check_call(_function(functions, next(iter(answers[0]))), calls[0], answers[0])


def _realise(accepted: Any) -> Any:
    """An answer's accepted-values structure turned into one concrete value."""
    if isinstance(accepted, dict):  # a dict option: each key -> its first accepted value
        return {k: _realise(v[0]) for k, v in accepted.items() if v and v[0] != ""} | {
            k: _realise(next(x for x in v if x != ""))
            for k, v in accepted.items()
            if v and v[0] == "" and any(x != "" for x in v)
        }
    if isinstance(accepted, list):
        return [_realise(v) for v in accepted]
    return accepted


def gold_calls(answers: list[Call], functions: list[dict[str, Any]] = ()) -> list[Call]:
    """The calls a perfect model makes: each answer's first accepted value per parameter;
    a parameter whose first accepted value is "" (optional) is left out unless the
    function requires it, and one the function does not declare is never sent."""
    out = []
    for answer in answers:
        name, params = next(iter(answer.items()))
        spec = _function(list(functions), name).get("parameters") or {}
        required = set(spec.get("required") or [])
        known = spec.get("properties")
        args = {}
        for param, accepted in params.items():
            real = [v for v in accepted if v != ""]
            if known is not None and param not in known:
                continue  # an answer key the function does not declare: never sent
            if real and (accepted[0] != "" or param in required):
                args[param] = _realise(real[0])
        out.append({name: args})
    return out
