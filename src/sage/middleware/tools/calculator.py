"""Calculator: arithmetic by walking the Python AST (never ``eval``), with limits.

Only numbers, + - * / // % **, unary signs, a few math functions and constants are
accepted; exponents and results are bounded so "9**9**9" cannot hang the worker.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from typing import Any

from sage.libs.agents import Tool
from sage.middleware.tools.base import AgentTool, ToolError

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos, ast.USub: operator.neg,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt, "log": math.log, "log10": math.log10, "exp": math.exp,
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "abs": abs, "round": round,
    "min": min, "max": max, "floor": math.floor, "ceil": math.ceil,
}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
MAX_EXPONENT = 1000
MAX_MAGNITUDE = 1e100
MAX_LENGTH = 200


def safe_eval(expression: str) -> float | int:
    """The value of an arithmetic expression; ``ToolError`` for anything else."""
    if len(expression) > MAX_LENGTH:
        raise ToolError(f"expression longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(expression.replace("^", "**"), mode="eval")
    except SyntaxError:
        raise ToolError(f"not an arithmetic expression: {expression!r}") from None
    try:
        return _eval(tree.body)
    except (ZeroDivisionError, OverflowError, ValueError, TypeError) as exc:
        raise ToolError(f"cannot compute {expression!r}: {exc}") from None


def _check(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolError("only numbers are allowed")
    if abs(value) > MAX_MAGNITUDE:
        raise ToolError("result too large")
    return value


def _eval(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return _check(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ToolError(f"exponent larger than {MAX_EXPONENT}")
        return _check(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _check(_UNARY[type(node.op)](_eval(node.operand)))
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCTIONS and not node.keywords):
        return _check(_FUNCTIONS[node.func.id](*[_eval(a) for a in node.args]))
    raise ToolError(f"unsupported syntax: {type(node).__name__}")


_WORDS = [
    (r"\bdivided by\b", "/"), (r"\bover\b", "/"), (r"\btimes\b", "*"),
    (r"\bmultiplied by\b", "*"), (r"\bplus\b", "+"), (r"\bminus\b", "-"),
    (r"\bto the power of\b", "**"), (r"\bsquared\b", "**2"), (r"\bcubed\b", "**3"),
    (r"\bsquare root of\b", "sqrt"), (r"(\d)\s*x\s*(\d)", r"\1*\2"),
]
_EXPR = re.compile(r"(?:sqrt|log10|log|exp|abs|round|pi|[\d.]|[-+*/%^()\s,])+")
_PERCENT_OF = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|percent)\s+of\s+(\d+(?:\.\d+)?)", re.I)


def find_expression(text: str) -> str | None:
    """The arithmetic expression in a sentence ("what is 12 times (3 + 4)?")."""
    match = _PERCENT_OF.search(text)
    if match:
        return f"{match.group(1)} / 100 * {match.group(2)}"
    lowered = text.lower()
    for pattern, repl in _WORDS:
        lowered = re.sub(pattern, repl, lowered)
    best = None
    for m in _EXPR.finditer(lowered):
        candidate = m.group(0).strip(" ,.")
        is_math = re.search(r"\d", candidate) and re.search(r"[-+*/%^(]|sqrt|log|exp", candidate)
        if is_math and (best is None or len(candidate) > len(best)):
            best = candidate
    return best


class CalculatorTool(AgentTool):
    spec = Tool(
        id="calculator",
        name="calculator",
        description="Calculate arithmetic: add, subtract, multiply, divide (plus, minus, "
                    "times, divided by), powers, square roots, percentages of numbers. "
                    "Compute a math expression or sum.",
        parameters={"type": "object", "properties": {"expression": {"type": "string"}},
                    "required": ["expression"]},
        category="math",
    )

    def extract(self, clause: str) -> dict[str, Any] | None:
        expr = find_expression(clause)
        return None if expr is None else {"expression": expr}

    def run(self, args: dict[str, Any]) -> str:
        value = safe_eval(str(args["expression"]))
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            value = int(value)
        elif isinstance(value, float):
            value = round(value, 6)
        return f"{args['expression']} = {value}"
