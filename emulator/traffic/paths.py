"""Path patterns, as fault rules and journal filters write them: a glob (``*`` within a segment, ``**`` across
segments, ``?``, ``[...]``) or, after ``re:``, a regular expression. No pydantic here: the request screening
that matches them is loaded at every start."""

from __future__ import annotations

import fnmatch
import re


def path_regex(pattern: str) -> str:
    """The regular expression (source) for a path glob, or the text after ``re:``; ValueError if invalid."""
    if pattern.startswith("re:"):
        source = pattern[3:]
        try:
            re.compile(source)
        except re.error as exc:
            raise ValueError(f"'{source}' is not a regular expression: {exc}") from None
        return source
    if not pattern:
        raise ValueError("a path pattern must not be empty")
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise ValueError(f"'{pattern}' has a '[' without its ']'")
            out.append(fnmatch.translate(pattern[i:end + 1])[4:-3])  # fnmatch's own class syntax ([!a-z])
            i = end + 1
            continue
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)
