"""The rule and filter language: syntax (tokenizer, parser, tree), evaluation in
Python, and compilation to store filters (``compiler``)."""

from baas.core.language.evaluation import evaluate, paths, variables
from baas.core.language.syntax import (
    AUTH_FIELDS,
    MAX_DEPTH,
    MAX_IN,
    MAX_LENGTH,
    MAX_SORT_KEYS,
    And,
    Compare,
    LanguageError,
    ListLit,
    Lit,
    Node,
    Not,
    Operand,
    Or,
    Path,
    Var,
    parse,
    parse_path,
    parse_sort,
)

__all__ = [
    "AUTH_FIELDS", "MAX_DEPTH", "MAX_IN", "MAX_LENGTH", "MAX_SORT_KEYS", "And", "Compare",
    "LanguageError", "ListLit", "Lit", "Node", "Not", "Operand", "Or", "Path", "Var",
    "evaluate", "parse", "parse_path", "parse_sort", "paths", "variables",
]
