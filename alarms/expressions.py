"""A small, safe expression language over tag values, parsed with ``ast``.

Allowed: numbers, True and False, full tag names (``PS1.discharge_pressure``, or
``tag("TT-9.temperature")`` for a name that is not a Python identifier),
``+ - * /``, comparisons, ``and or not``, and the functions ``abs``, ``min`` and
``max``. Anything else is rejected with the offending token. The parsed tree is
compiled into nested closures; nothing is passed to ``eval``.

A value that is missing, not a number or a bool, or BAD makes the result None
(unknown), and so does a division by zero: an alarm does not change on unknown.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Values = Mapping[str, object]
Evaluator = Callable[[Values], object]

BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
COMPARE = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
FUNCTIONS = {"abs": abs, "min": min, "max": max}


class ExpressionError(ValueError):
    """An expression that does not parse or uses something outside the language."""


@dataclass(frozen=True, slots=True)
class Expression:
    text: str
    tags: tuple[str, ...]
    evaluate: Evaluator

    def __call__(self, values: Values) -> object:
        return self.evaluate(values)


def parse_expression(text: str) -> Expression:
    """Parse and compile ``text``; raise ExpressionError naming the bad token."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        column = err.offset or 0
        raise ExpressionError(
            f"invalid expression {text!r}: syntax error at column {column}"
        ) from None

    compiler = _Compiler(text.strip())
    evaluate = compiler.compile(tree.body)
    return Expression(
        text=text, tags=tuple(dict.fromkeys(compiler.tags)), evaluate=evaluate
    )


def is_number(value: object) -> bool:
    if isinstance(value, bool):
        return True
    return isinstance(value, (int, float)) and not math.isnan(value)


class _Compiler:
    def __init__(self, text: str):
        self.text = text
        self.tags: list[str] = []

    def reject(self, node: ast.AST, what: str) -> ExpressionError:
        token = ast.get_source_segment(self.text, node) or type(node).__name__
        return ExpressionError(
            f"{what} {token!r} is not allowed in expression {self.text!r}; use"
            " numbers, full tag names, + - * /, comparisons, and/or/not, abs, min"
            " and max"
        )

    def compile(self, node: ast.AST) -> Evaluator:
        match node:
            case ast.Constant(value=bool() | int() | float() as constant):
                return lambda values: constant
            case ast.Name() | ast.Attribute():
                return self.tag(self.dotted_name(node))
            case ast.Call(func=ast.Name(id="tag"), args=[ast.Constant(value=str())]):
                if node.keywords:
                    raise self.reject(node, "call")
                return self.tag(node.args[0].value)
            case ast.Call(func=ast.Name(id=name)) if name in FUNCTIONS:
                return self.call(node, FUNCTIONS[name])
            case ast.BinOp(op=op) if type(op) in BINARY:
                return self.binary(node)
            case ast.UnaryOp(op=ast.Not()):
                operand = self.compile(node.operand)
                return lambda values: _not(operand(values))
            case ast.UnaryOp(op=ast.USub() | ast.UAdd()):
                return self.sign(node)
            case ast.BoolOp():
                return self.boolean(node)
            case ast.Compare():
                return self.compare(node)
            case ast.Call():
                raise self.reject(node.func, "function")
            case ast.Constant():
                raise self.reject(node, "constant")
        raise self.reject(node, "token")

    def dotted_name(self, node: ast.AST) -> str:
        parts: list[str] = []
        current = node
        while isinstance(current, ast.Attribute):
            parts.append(current.attr)
            current = current.value
        if not isinstance(current, ast.Name):
            raise self.reject(node, "token")
        parts.append(current.id)
        name = ".".join(reversed(parts))
        if "." not in name:
            raise ExpressionError(
                f"unknown name {name!r} in expression {self.text!r}; write a full tag"
                " name <device>.<tag>"
            )
        return name

    def tag(self, name: str) -> Evaluator:
        self.tags.append(name)

        def read(values: Values) -> object:
            value = values.get(name)
            return value if is_number(value) else None

        return read

    def call(self, node: ast.Call, function) -> Evaluator:
        if node.keywords or not node.args:
            raise self.reject(node, "call")
        args = [self.compile(arg) for arg in node.args]
        if function is abs and len(args) != 1:
            raise self.reject(node, "call")

        def apply(values: Values) -> object:
            numbers = [arg(values) for arg in args]
            if any(number is None for number in numbers):
                return None
            return function(*numbers)

        return apply

    def binary(self, node: ast.BinOp) -> Evaluator:
        left = self.compile(node.left)
        right = self.compile(node.right)
        function = BINARY[type(node.op)]

        def apply(values: Values) -> object:
            a = left(values)
            b = right(values)
            if a is None or b is None:
                return None
            try:
                return function(a, b)
            except ZeroDivisionError:
                return None

        return apply

    def sign(self, node: ast.UnaryOp) -> Evaluator:
        operand = self.compile(node.operand)
        negate = isinstance(node.op, ast.USub)

        def apply(values: Values) -> object:
            value = operand(values)
            if value is None:
                return None
            return -value if negate else +value

        return apply

    def boolean(self, node: ast.BoolOp) -> Evaluator:
        operands = [self.compile(value) for value in node.values]
        is_and = isinstance(node.op, ast.And)

        # Three-valued logic: a known False decides an `and`, a known True an `or`.
        def apply(values: Values) -> object:
            unknown = False
            for operand in operands:
                result = operand(values)
                if result is None:
                    unknown = True
                elif bool(result) != is_and:
                    return not is_and
            return None if unknown else is_and

        return apply

    def compare(self, node: ast.Compare) -> Evaluator:
        for op in node.ops:
            if type(op) not in COMPARE:
                raise self.reject(node, "comparison")
        operands = [self.compile(node.left)] + [
            self.compile(value) for value in node.comparators
        ]
        functions = [COMPARE[type(op)] for op in node.ops]

        def apply(values: Values) -> object:
            results = [operand(values) for operand in operands]
            if any(result is None for result in results):
                return None
            return all(
                function(results[i], results[i + 1])
                for i, function in enumerate(functions)
            )

        return apply


def _not(value: object) -> object:
    return None if value is None else not value
