"""The condition language (SPEC §5.2): a lark grammar and its AST of frozen dataclasses.

Parsing never evaluates anything; the AST is plain data (picklable, comparable) so a RuleSet
can travel between processes. Every node carries its ``span`` (character offsets in the
expression text) for located lint messages; spans do not take part in equality, so two equal
sub-expressions written in different places compare equal (used to share derived columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

_GRAMMAR = r"""
?start: or_expr

?or_expr: and_expr
        | or_expr _OR and_expr              -> or_
?and_expr: not_expr
         | and_expr _AND not_expr           -> and_
?not_expr: _NOT not_expr                    -> not_
         | predicate
?predicate: sum COMP_OP sum                 -> compare
          | sum _IN list                    -> in_
          | sum _NOT _IN list               -> not_in
          | sum _IS NULL                    -> is_null
          | sum _IS _NOT NULL               -> is_not_null
          | sum
?sum: product
    | sum PLUS product                      -> arith
    | sum MINUS product                     -> arith
?product: unary
        | product STAR unary                -> arith
        | product SLASH unary               -> arith
?unary: MINUS unary                         -> neg
      | atom
?atom: literal
     | NAME                                 -> field
     | LPAR or_expr RPAR
list: LSQB [item (COMMA item)*] [COMMA] RSQB
?item: literal
     | MINUS NUMBER                         -> neg_number
literal: NUMBER | STRING | TRUE | FALSE | NULL

_AND: "and"
_OR: "or"
_NOT: "not"
_IN: "in"
_IS: "is"
TRUE: "true"
FALSE: "false"
NULL: "null"
COMP_OP: "==" | "!=" | "<=" | ">=" | "<" | ">"
PLUS: "+"
MINUS: "-"
STAR: "*"
SLASH: "/"
LPAR: "("
RPAR: ")"
LSQB: "["
RSQB: "]"
COMMA: ","
NUMBER: /\d+(_\d+)*(\.\d+(_\d+)*)?([eE][+-]?\d+)?/
STRING: /'(?:[^'\\\n]|\\.)*'/ | /"(?:[^"\\\n]|\\.)*"/
NAME: /[A-Za-z_][A-Za-z0-9_]*/
%ignore /\s+/
"""

_PARSER = Lark(_GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)

KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null", "true", "false"})

_TERMINAL_WORDS = {
    "NAME": "a field name", "NUMBER": "a number", "STRING": "a 'string'", "COMP_OP": "a comparison",
    "PLUS": "+", "MINUS": "-", "STAR": "*", "SLASH": "/", "LPAR": "(", "RPAR": ")", "LSQB": "[",
    "RSQB": "]", "COMMA": ",", "_AND": "and", "_OR": "or", "_NOT": "not", "_IN": "in", "_IS": "is",
    "TRUE": "true", "FALSE": "false", "NULL": "null", "$END": "the end",
}


class ExpressionError(ValueError):
    """An unparseable condition; ``offset`` is the character position in the expression text."""

    def __init__(self, message: str, offset: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint


# --- AST -------------------------------------------------------------------------------------
_SPAN = field(default=(0, 0), compare=False, repr=False)


@dataclass(frozen=True)
class FieldRef:
    name: str
    span: tuple[int, int] = _SPAN


@dataclass(frozen=True)
class Number:
    value: float
    span: tuple[int, int] = _SPAN


@dataclass(frozen=True)
class String:
    value: str
    span: tuple[int, int] = _SPAN


@dataclass(frozen=True)
class Boolean:
    value: bool
    span: tuple[int, int] = _SPAN


@dataclass(frozen=True)
class Null:
    span: tuple[int, int] = _SPAN


@dataclass(frozen=True)
class Neg:
    operand: Expr
    span: tuple[int, int] = _SPAN


@dataclass(frozen=True)
class Arith:
    op: str  # + - * /
    left: Expr
    right: Expr
    span: tuple[int, int] = _SPAN


@dataclass(frozen=True)
class Compare:
    op: str  # < <= > >= == !=
    left: Expr
    right: Expr
    span: tuple[int, int] = _SPAN


@dataclass(frozen=True)
class In:
    operand: Expr
    items: tuple[LiteralNode, ...]
    negated: bool  # `x not in [...]`, which means `not (x in [...])`
    span: tuple[int, int] = _SPAN


@dataclass(frozen=True)
class IsNull:
    operand: Expr
    negated: bool  # `is not null`
    span: tuple[int, int] = _SPAN


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]
    span: tuple[int, int] = _SPAN


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]
    span: tuple[int, int] = _SPAN


@dataclass(frozen=True)
class Not:
    operand: Expr
    span: tuple[int, int] = _SPAN


LiteralNode = Number | String | Boolean | Null
Expr = FieldRef | Number | String | Boolean | Null | Neg | Arith | Compare | In | IsNull | And | Or | Not
LITERALS = (Number, String, Boolean, Null)


# --- parsing ---------------------------------------------------------------------------------
def parse_expression(text: str) -> Expr:
    """Parse a condition; raises ExpressionError with the offending offset and a fix hint."""
    if not text.strip():
        raise ExpressionError("empty condition", 0, "write a condition such as `exposure > 1000`")
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    return _build(tree)


def _span(node: Tree | Token) -> tuple[int, int]:
    if isinstance(node, Token):
        return (node.start_pos or 0, node.end_pos or 0)
    meta = node.meta
    return (getattr(meta, "start_pos", 0), getattr(meta, "end_pos", 0))


def _unescape(raw: str) -> str:
    body = raw[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    chars = iter(body)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
        else:
            out.append(ch)
    return "".join(out)


def _literal(token: Token) -> LiteralNode:
    span = _span(token)
    if token.type == "NUMBER":
        return Number(float(token.value.replace("_", "")), span)
    if token.type == "STRING":
        return String(_unescape(token.value), span)
    if token.type in ("TRUE", "FALSE"):
        return Boolean(token.type == "TRUE", span)
    return Null(span)


def _flatten(kind: type[And] | type[Or], left: Expr, right: Expr, span: tuple[int, int]) -> Expr:
    items: list[Expr] = []
    for part in (left, right):
        items.extend(part.items if isinstance(part, kind) else (part,))
    return kind(tuple(items), span)


def _build(node: Tree | Token) -> Expr:
    if isinstance(node, Token):  # pragma: no cover - the grammar wraps every token
        raise ExpressionError(f"unexpected {node.value!r}", node.start_pos or 0)
    span, kids, rule = _span(node), node.children, node.data
    if rule == "literal":
        return _literal(kids[0])
    if rule == "field":
        return FieldRef(str(kids[0]), span)
    if rule == "atom":  # parenthesised: ( expr )
        return _build(kids[1])
    if rule == "neg":
        return Neg(_build(kids[1]), span)
    if rule == "neg_number":
        return Number(-float(kids[1].value.replace("_", "")), span)
    if rule == "arith":
        return Arith(str(kids[1]), _build(kids[0]), _build(kids[2]), span)
    if rule == "compare":
        return Compare(str(kids[1]), _build(kids[0]), _build(kids[2]), span)
    if rule in ("in_", "not_in"):
        items = tuple(_build(k) for k in kids[1].children if isinstance(k, Tree))
        return In(_build(kids[0]), items, rule == "not_in", span)  # type: ignore[arg-type]
    if rule in ("is_null", "is_not_null"):
        return IsNull(_build(kids[0]), rule == "is_not_null", span)
    if rule == "not_":
        return Not(_build(kids[0]), span)
    if rule == "and_":
        return _flatten(And, _build(kids[0]), _build(kids[1]), span)
    if rule == "or_":
        return _flatten(Or, _build(kids[0]), _build(kids[1]), span)
    if rule in ("start", "or_expr", "and_expr", "not_expr", "predicate", "sum", "product", "unary"):
        return _build(kids[0])  # pragma: no cover - inlined by `?` rules
    raise ExpressionError(f"unsupported construct {rule}", span[0])  # pragma: no cover


def _syntax_error(text: str, exc: UnexpectedInput) -> ExpressionError:
    example = "e.g. `exposure > credit_limit * 1.1 and not has_payment_history`"
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream
        ch = text[pos]
        nxt = text[pos + 1: pos + 2]
        hints = {"=": "compare with == (a single = is not an operator)", "&": "write `and`",
                 "|": "write `or`", "!": "write `not` (or != for 'not equal')"}
        if ch in ("'", '"'):
            return ExpressionError("unterminated string", pos, f"close the string with {ch}")
        return ExpressionError(f"unexpected character {ch!r}", pos,
                               hints.get(ch if ch != "!" or nxt != "=" else "", f"conditions look like {example}"))
    if isinstance(exc, UnexpectedEOF):
        return ExpressionError("the condition ends too early", len(text.rstrip()),
                               f"complete it, {example}")
    assert isinstance(exc, UnexpectedToken)
    tok = exc.token
    expected = sorted(exc.expected or ())
    if tok.type == "$END":
        if "RPAR" in expected:
            return ExpressionError("a ( is not closed", len(text.rstrip()), "add the missing )")
        return ExpressionError("the condition ends too early", len(text.rstrip()), _expected(expected, example))
    pos = tok.start_pos or 0
    value = str(tok.value)
    before = text[:pos].rstrip()
    if tok.type == "NAME" and value.lower() in KEYWORDS:
        hint = f"keywords are lowercase: write `{value.lower()}`"
    elif value == ">" and before.endswith("<"):
        hint = "write != for 'not equal'"
    elif tok.type == "COMP_OP" and "COMP_OP" not in expected:
        hint = "comparisons cannot be chained: write `a < b and b < c`"
    elif before.endswith("[") or before.endswith(",") and "[" in before:
        hint = "list items are literals: numbers, 'strings', true, false"
    elif "_AND" in expected and tok.type in ("NAME", "NUMBER", "STRING", "LPAR", "TRUE", "FALSE", "NULL"):
        hint = "join conditions with `and` / `or`"
    elif tok.type == "RPAR":
        hint = "there is a ) without its ("
    else:
        hint = _expected(expected, example)
    return ExpressionError(f"unexpected {value!r}", pos, hint)


def _expected(expected: list[str], example: str) -> str:
    if "NAME" in expected and "NUMBER" in expected:
        return "expected a value: a field, a number, a 'string', true, false, null or ( ... )"
    want = ", ".join(dict.fromkeys(_TERMINAL_WORDS.get(t, t.lower()) for t in expected))
    return f"expected {want}" if want and len(expected) <= 6 else f"conditions look like {example}"


# --- rendering -------------------------------------------------------------------------------
def _fmt_number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _fmt_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\t", "\\t") + "'"


def to_text(node: Expr) -> str:
    """Canonical, fully parenthesised text of an expression (parses back to an equal AST)."""
    if isinstance(node, FieldRef):
        return node.name
    if isinstance(node, Number):
        return _fmt_number(node.value) if node.value >= 0 else f"({_fmt_number(node.value)})"
    if isinstance(node, String):
        return _fmt_string(node.value)
    if isinstance(node, Boolean):
        return "true" if node.value else "false"
    if isinstance(node, Null):
        return "null"
    if isinstance(node, Neg):
        return f"(-{to_text(node.operand)})"
    if isinstance(node, Arith | Compare):
        return f"({to_text(node.left)} {node.op} {to_text(node.right)})"
    if isinstance(node, In):
        items = ", ".join(_fmt_number(i.value) if isinstance(i, Number) else to_text(i) for i in node.items)
        return f"({to_text(node.operand)} {'not in' if node.negated else 'in'} [{items}])"
    if isinstance(node, IsNull):
        return f"({to_text(node.operand)} is {'not ' if node.negated else ''}null)"
    if isinstance(node, And | Or):
        word = " and " if isinstance(node, And) else " or "
        return "(" + word.join(to_text(i) for i in node.items) + ")"
    if isinstance(node, Not):
        return f"(not {to_text(node.operand)})"
    raise TypeError(f"not an expression node: {node!r}")  # pragma: no cover


def walk(node: Expr):
    """Every node of an expression, depth first."""
    yield node
    if isinstance(node, Neg | Not | IsNull):
        yield from walk(node.operand)
    elif isinstance(node, In):
        yield from walk(node.operand)
        for item in node.items:
            yield item
    elif isinstance(node, Arith | Compare):
        yield from walk(node.left)
        yield from walk(node.right)
    elif isinstance(node, And | Or):
        for item in node.items:
            yield from walk(item)


def field_names(node: Expr) -> set[str]:
    return {n.name for n in walk(node) if isinstance(n, FieldRef)}
