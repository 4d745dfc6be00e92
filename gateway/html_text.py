"""HTML mail bodies as plain text, with quoted history marked the way plain text marks it.

Replies written in HTML (Gmail, Apple Mail, Outlook) carry the customer's
message in ``<blockquote>`` elements. Rendering their lines with a ``> ``
prefix lets one reply splitter handle plain and HTML mail alike. The
standard library's tokenizer is enough here: no layout, only line structure,
and it costs no dependency on the per-message path.
"""

from __future__ import annotations

from html.parser import HTMLParser

_BLOCK = {
    "address",
    "article",
    "aside",
    "center",
    "dd",
    "div",
    "dl",
    "dt",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "li",
    "main",
    "nav",
    "ol",
    "pre",
    "section",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
_PARAGRAPH = {"p"}
_SKIP = {"head", "script", "style", "title", "template"}


class _TextRenderer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []  # (quote depth, text)
        self._current: list[str] = []
        self._depth = 0
        self._line_depth = 0
        self._skipping = 0

    def _end_line(self) -> None:
        self.lines.append((self._line_depth, "".join(self._current)))
        self._current = []
        self._line_depth = self._depth

    def _ensure_line_start(self) -> None:
        if self._current:
            self._end_line()

    def _ensure_blank_line(self) -> None:
        self._ensure_line_start()
        if self.lines and self.lines[-1][1].strip():
            self.lines.append((self._depth, ""))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif tag == "br":
            self._end_line()
        elif tag == "blockquote":
            self._ensure_line_start()
            self._depth += 1
            self._line_depth = self._depth
        elif tag == "hr" or tag in _PARAGRAPH:
            self._ensure_blank_line()
        elif tag in _BLOCK:
            self._ensure_line_start()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag == "blockquote":
            self._ensure_line_start()
            self._depth = max(0, self._depth - 1)
            self._line_depth = self._depth
        elif tag in _PARAGRAPH:
            self._ensure_blank_line()
        elif tag in _BLOCK:
            self._ensure_line_start()

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        text = " ".join(data.replace("\xa0", " ").split())
        if not text:
            if self._current and data[:1].isspace():
                self._current.append(" ")
            return
        if not self._current:
            self._line_depth = self._depth
        elif data[:1].isspace() and not self._current[-1].endswith(" "):
            self._current.append(" ")
        self._current.append(text)
        if data[-1:].isspace():
            self._current.append(" ")


def html_to_text(html: str) -> str:
    """Text of an HTML body; lines inside <blockquote> start with '> ' per level."""
    renderer = _TextRenderer()
    renderer.feed(html)
    renderer.close()
    renderer._ensure_line_start()
    lines = [("> " * depth + text.strip()).rstrip() for depth, text in renderer.lines]
    return "\n".join(lines).strip("\n") + "\n"
