"""The text form of conditions: ``parse(text)`` reads what ``str(condition)`` writes.

Grammar (``|`` binds loosest, then ``&``, then prefix ``~``)::

    expression := term ("|" term)*
    term       := factor ("&" factor)*
    factor     := "~" factor | "(" expression ")" | atom
    atom       := "always" | "never" | KIND ":" ARGUMENT
    KIND       := [A-Za-z_][A-Za-z0-9_]*
    ARGUMENT   := [A-Za-z0-9_.\\-+=<>%@/*,:]+  |  a double-quoted string with backslash escapes

What an argument means is up to the leaf class registered for the kind (its
``from_argument``), so other apps add kinds (``plan:>=pro``) without touching this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conditions.base import All, Always, Any, Condition, Never, Not
from conditions.kinds import _kinds
from conditions.naming import suggestion
from conditions.quoting import BARE_ARGUMENT, quote

__all__ = ["ConditionSyntaxError", "parse", "quote"]

_KIND = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONSTANTS = {"always": Always, "never": Never}


class ConditionSyntaxError(ValueError):
    """A condition's text form is malformed or names an unknown kind; points at the spot."""

    def __init__(self, message: str, text: str, position: int) -> None:
        self.message = message
        self.text = text
        self.position = position
        super().__init__(f"{message}\n  {text}\n  {' ' * position}^")


@dataclass(frozen=True)
class _Token:
    kind: str  # one of ( ) & | ~ atom end
    position: int
    word: str = ""
    argument: str | None = None  # the unquoted argument of kind:argument atoms


def parse(text: str) -> Condition:
    """Return the condition written in ``text`` (the inverse of ``str(condition)``)."""
    if not isinstance(text, str):
        raise TypeError(f"parse() needs the text of a condition, got {type(text).__name__}")
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = list(self._tokenize())
        self.index = 0

    def error(self, message: str, position: int) -> ConditionSyntaxError:
        return ConditionSyntaxError(message, self.text, position)

    # Tokens ------------------------------------------------------------------------------

    def _tokenize(self) -> list[_Token]:
        text, position, tokens = self.text, 0, []
        while position < len(text):
            char = text[position]
            if char.isspace():
                position += 1
            elif char in "()&|~":
                tokens.append(_Token(char, position))
                position += 1
            else:
                token, position = self._atom(position)
                tokens.append(token)
        tokens.append(_Token("end", len(text)))
        return tokens

    def _atom(self, start: int) -> tuple[_Token, int]:
        text = self.text
        match = _KIND.match(text, start)
        if match is None:
            raise self.error(
                f"Unexpected {text[start]!r}: expected a condition such as 'flag:name', "
                "'always', 'never', '~', or '('",
                start,
            )
        word, position = match.group(), match.end()
        if position >= len(text) or text[position] != ":":
            return _Token("atom", start, word), position
        position += 1
        if position < len(text) and text[position] == '"':
            argument, position = self._quoted(position)
        else:
            bare = BARE_ARGUMENT.match(text, position)
            if bare is None:
                raise self.error(
                    f"Expected an argument after '{word}:' (a name such as {word}:example, "
                    'or a "quoted string")',
                    position,
                )
            argument, position = bare.group(), bare.end()
        return _Token("atom", start, word, argument), position

    def _quoted(self, start: int) -> tuple[str, int]:
        text, position, chars = self.text, start + 1, []
        while position < len(text):
            char = text[position]
            if char == "\\":
                if position + 1 >= len(text):
                    break
                chars.append(text[position + 1])
                position += 2
            elif char == '"':
                return "".join(chars), position + 1
            else:
                chars.append(char)
                position += 1
        raise self.error("Unterminated quoted argument: expected a closing '\"'", start)

    # Grammar -----------------------------------------------------------------------------

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Condition:
        if self.peek().kind == "end":
            raise self.error("Empty condition: expected e.g. 'flag:name' or 'always'", 0)
        condition = self.expression()
        token = self.peek()
        if token.kind != "end":
            expected = "'&', '|' or the end" if token.kind != ")" else "the end (unopened ')')"
            raise self.error(
                f"Unexpected {self._describe(token)}: expected {expected}", token.position
            )
        return condition

    def expression(self) -> Condition:
        operands = [self.term()]
        while self.peek().kind == "|":
            self.take()
            operands.append(self.term())
        return operands[0] if len(operands) == 1 else Any(*operands)

    def term(self) -> Condition:
        operands = [self.factor()]
        while self.peek().kind == "&":
            self.take()
            operands.append(self.factor())
        return operands[0] if len(operands) == 1 else All(*operands)

    def factor(self) -> Condition:
        token = self.take()
        if token.kind == "~":
            return Not(self.factor())
        if token.kind == "(":
            inner = self.expression()
            closing = self.take()
            if closing.kind != ")":
                raise self.error(
                    f"Unexpected {self._describe(closing)}: expected ')' to close the '(' "
                    f"at position {token.position}",
                    closing.position,
                )
            return inner
        if token.kind == "atom":
            return self.leaf(token)
        raise self.error(
            f"Unexpected {self._describe(token)}: expected a condition such as 'flag:name', "
            "'always', 'never', '~', or '('",
            token.position,
        )

    def leaf(self, token: _Token) -> Condition:
        if token.argument is None:
            constant = _CONSTANTS.get(token.word)
            if constant is not None:
                return constant()
            if token.word in _kinds:
                raise self.error(
                    f"Expected ':' and an argument after {token.word!r} (e.g. {token.word}:name)",
                    token.position + len(token.word),
                )
            hint = suggestion(token.word, [*_CONSTANTS, *_kinds])
            raise self.error(
                f"Unknown word {token.word!r}: expected 'always', 'never' or kind:argument.{hint}",
                token.position,
            )
        leaf_class = _kinds.get(token.word)
        if leaf_class is None:
            raise self.error(
                f"Unknown condition kind {token.word!r}.{suggestion(token.word, _kinds)} "
                f"Known kinds: {', '.join(sorted(_kinds))}.",
                token.position,
            )
        try:
            return leaf_class.from_argument(token.argument)
        except (ValueError, TypeError, LookupError) as problem:
            message = str(problem).strip("'\"") if isinstance(problem, KeyError) else problem
            raise self.error(
                f"Invalid {token.word}:{quote(token.argument)}: {message}",
                token.position + len(token.word) + 1,
            ) from problem

    @staticmethod
    def _describe(token: _Token) -> str:
        if token.kind == "end":
            return "end of text"
        if token.kind == "atom":
            return f"{token.word!r}"
        return f"{token.kind!r}"
