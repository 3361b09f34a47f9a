"""Strict, typed ``key=value`` arguments for the commands that are not composed by Hydra.

Each option has a parser that turns the text into a value or raises ValueError saying what is
allowed; every problem (unknown key, bad value, missing key, repeated key) becomes one SnganError
line that names the key, the value and what is allowed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional

from sngan_cli import SnganError

Parser = Callable[[str], Any]
HELP_FLAGS = ("-h", "--help", "help")

_INTEGER = re.compile(r"^[+-]?[0-9]+$")


@dataclass(frozen=True)
class Option:
    parse: Parser
    default: Any = None
    help: str = ""
    required: bool = False


def integer(minimum: Optional[int] = None) -> Parser:
    def parse(text: str) -> int:
        # int() alone would also take "1_000" and " 3 ": typos should fail, not be guessed at
        if not _INTEGER.match(text):
            raise ValueError("must be an integer" + (f" >= {minimum}" if minimum is not None else ""))
        value = int(text)
        if minimum is not None and value < minimum:
            raise ValueError(f"must be an integer >= {minimum}")
        return value
    return parse


def boolean(text: str) -> bool:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    raise ValueError("must be true or false")


def choice(*allowed: str) -> Parser:
    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return text
    return parse


def text(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


def help_requested(argv: List[str]) -> bool:
    return any(arg in HELP_FLAGS for arg in argv)


def usage(command: str, summary: str, options: Mapping[str, Option], synopsis: str = "key=value ...") -> str:
    """``sngan COMMAND --help``: the usage line (``synopsis``: what the command takes), the summary and
    every option with its default."""
    lines = [f"usage: sngan {command} {synopsis}", "", summary, "", "options:"]
    for key, option in options.items():
        default = " (required)" if option.required else ("" if option.default is None else f" (default {_show(option.default)})")
        lines.append(f"  {key + '=':<14} {option.help}{default}")
    return "\n".join(lines)


def parse_options(argv: List[str], options: Mapping[str, Option]) -> Dict[str, Any]:
    """Typed values for every option: the given ones parsed, the others at their defaults."""
    allowed = ", ".join(options)
    given: Dict[str, str] = {}
    for arg in argv:
        key, eq, value = arg.partition("=")
        if not eq:
            raise SnganError(f"argument {arg!r} is not key=value; allowed keys: {allowed}")
        if key not in options:
            raise SnganError(f"unknown option {key}={value}; allowed keys: {allowed}")
        if key in given:
            raise SnganError(f"{key} is given twice ({key}={given[key]} and {key}={value})")
        given[key] = value
    values: Dict[str, Any] = {}
    for key, option in options.items():
        if key not in given:
            if option.required:
                raise SnganError(f"{key}= is required: {option.help}")
            values[key] = option.default
            continue
        try:
            values[key] = option.parse(given[key])
        except ValueError as e:
            raise SnganError(f"{key}={given[key]} is not allowed: {e}") from None
    return values


def _show(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
