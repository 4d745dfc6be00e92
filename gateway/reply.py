"""Split a reply into the new text, the quoted history and the signature.

Why hand-written: the checks judge only what the agent wrote now, so the cut
must be exact. mail-parser-reply (measured on tests/corpus/replies, see
README) loses text at lines starting with "Thanks," or "- " and misses some
non-English attributions; this splitter keeps the whole newest reply and
recognises, in English, German, French, Spanish, Dutch, Italian and
Portuguese:

- attribution lines before quoted text ("On ... wrote:", "Am ... schrieb ...:",
  "Le ... a écrit :", wrapped over two lines as Gmail does);
- Outlook history blocks ("-----Original Message-----", a "From:/Sent:" header
  block, the "____" rule before it) and helpdesk markers ("##- Please type your
  reply above this line -##"): everything after them is history;
- ``>`` quoting anywhere (top-posting, bottom-posting, answers between quotes);
- signatures after ``-- `` and mobile footers ("Sent from my iPhone");
- a helpdesk's author header on the newest comment ("Marcus Feld (Support)" /
  "Mar 24, 2026, 11:05 GMT", or "Victor Hale, 13 Nov 2026 06:45"): when it
  names the recipient, the newest comment is the customer's own and the agent
  added nothing; otherwise it is the agent's comment and the header is not part
  of what the agent wrote (a greeting follows it, not precedes it); the
  helpdesk's own "Your request (#48213) has been updated" notice above it is
  not the agent's text either.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_WROTE = r"wrote|schrieb|a\s+écrit|escribió|escreveu|schreef|geschreven|ha\s+scritto|skrev|napisał"
_ATTRIBUTION = re.compile(rf"^.{{0,300}}\b(?:{_WROTE})\b(?:.{{0,150}}:)?\s*:?\s*$", re.IGNORECASE)
_ATTRIBUTION_START = re.compile(r"^(?:on|am|le|el|op|il|em|den|w dniu)\b.{0,200}$", re.IGNORECASE)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine|"
    r"mensaje original|oorspronkelijk bericht|messaggio originale|mensagem original|"
    r"forwarded message|weitergeleitete nachricht)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\s*\**(?:from|von|de|van|da|fra|od)\s*:\**\s*\S", re.IGNORECASE)
_HEADER_SENT = re.compile(
    r"^\s*\**(?:sent|gesendet|envoyé|enviado|verzonden|inviato|date|datum|data|"
    r"to|an|à|para|aan|a)\s*:",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*_{8,}\s*$")
# Zendesk-style plain-text history: a long rule, then "Name, 23 Nov 2026, 09:14" (or the
# name and the date on separate lines) above each earlier message of the ticket.
_HELPDESK_RULE = re.compile(r"^\s*[-=\u2014]{10,}\s*$")
# A helpdesk history entry's header line: "Victor Hale, 13 Nov 2026 06:45".
_COMMENT_HEADER = re.compile(r"^\s*[^\W\d][^,:]{1,60},\s.{0,40}\b\d{1,2}:\d{2}\b.{0,20}$")
STAMP = re.compile(r"\b\d{1,2}:\d{2}\b|\b(?:19|20)\d{2}\b")  # a time or a year
# The two-line form: "Marcus Feld (Brightdesk Support)" or "Priya N. (Northline Air)",
# then "Mar 24, 2026, 11:05 GMT".
_AUTHOR_LINE = re.compile(r"^\s*[^\W\d][^\d,:;!?]{0,60}(?:\([^()\d]{1,40}\))?\s*$")
_PARENTHESES = re.compile(r"\([^()]*\)")
_TIME = re.compile(r"\b\d{1,2}[:.]\d{2}\b")
_WORD = re.compile(r"[^\W\d_]+")
# "##- Please type your reply above this line -##", "## Veuillez répondre au-dessus ... ##"
# and "-- Please reply above this line --" / "--- Veuillez répondre au-dessus de cette
# ligne ---" (dashes only with a "this line" word, so that "-----Original Message-----"
# stays history).
_MARKER = re.compile(
    r"^\s*(?:#{2,}[^#\n]*[^\W\d_][^#\n]*#{2,}|"
    r"-{2,}(?:[^-\n]|\w-\w)*\b(?:line|zeile|ligne|l[ií]nea|linha|riga|regel)\b"
    r"(?:[^-\n]|\w-\w)*-{2,})\s*$",
    re.IGNORECASE,
)
# A helpdesk's notice above the newest comment: "Your request (#48213) has been updated.
# To add additional comments, reply to this email." (Zendesk's default, localised).
_TICKET_REFERENCE = re.compile(
    r"\(#?\s?\d{3,}\)|#(?:[a-z]{1,4}-)?\d{3,}|\bn(?:[°º]|o\.|r\.?)\s?\d{3,}", re.IGNORECASE
)
_UPDATED = re.compile(
    r"\b(?:updated|aktualisiert|actualizad[oa]|atualizad[oa]|mis[e]? à jour|bijgewerkt|"
    r"aggiornat[oa]|"
    # "Fleur (Boekfix) heeft gereageerd op ticket #33817", "Lucas a répondu à votre demande"
    r"replied|responded|answered|geantwortet|beantwortet|a répondu|ha respondido|"
    r"respondeu|heeft gereageerd|heeft geantwoord|ha risposto)\b",
    re.IGNORECASE,
)
# A helpdesk's ticket line above the newest comment: "Ticket #61290 - Attestazione ...",
# "[Request #4471] Refund", "Demande n° 77120 : ...".
_TICKET_LINE = re.compile(
    r"^\s*(?:\[\s*)?(?:ticket|request|case|anfrage|vorgang|demande|solicitud|richiesta|"
    r"chamado|pedido|verzoek|melding|caso)\s*(?:#|n(?:[°º]|o\.|r\.?)\s?)\s?(?:[a-z]{1,4}-)?\d{3,}"
    r"(?:\s*\]|\s*[-:\u2013\u2014]|\s*$)",
    re.IGNORECASE,
)
_NOTICE_WORDS = 40
_SIGNATURE_DELIMITER = re.compile(r"^--\s?$")
_MOBILE_FOOTER = re.compile(
    r"^(?:sent from my \w+|sent from (?:outlook|mail) for \w+|get outlook for \w+|"
    r"von meinem \w+ gesendet|gesendet von meinem \w+|envoyé de mon \w+|"
    r"enviado desde mi \w+|enviado do meu \w+|verzonden vanaf mijn \w+|"
    r"inviato da(?:l mio)? \w+)\b.{0,40}$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ReplyParts:
    """The new text an agent wrote, the history it quotes, and its signature.

    `inline` is set for answers written between quotes ("> Is there a fee?" / "No,
    ..." / "> When ...?" / ...): each quoted passage with the agent's text right under
    it, "" where the agent wrote nothing under it. A reader takes the text under a
    question as its answer, and a question quoted with nothing under it as skipped.
    """

    new_text: str
    quoted: str
    signature: str
    inline: tuple[tuple[str, str], ...] = ()


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _unquote(line: str) -> str:
    """One level of quoting off: a quote inside the quote (older history) stays quoted."""
    stripped = line.lstrip()
    if stripped.startswith(">"):
        stripped = stripped[1:]
        stripped = stripped[1:] if stripped.startswith(" ") else stripped
    return stripped


# Every history boundary starts with one of these; ordinary lines are skipped in one test.
_BOUNDARY_CANDIDATE = re.compile(r"^\s*(?:[-_#*]|(?:from|von|de|van|da|fra|od)\b)", re.IGNORECASE)


def _history_start(lines: list[str]) -> int:
    """Index of the first line of unquoted history (Outlook block, marker), else len(lines)."""
    for index, line in enumerate(lines):
        if not _BOUNDARY_CANDIDATE.match(line):
            continue
        if _MARKER.match(line) and any(text.strip() for text in lines[:index]):
            return index
        if _ORIGINAL_MESSAGE.match(line):
            return index
        if _RULE.match(line) and _header_block_follows(lines, index + 1):
            return index
        if _HELPDESK_RULE.match(line) and _author_stamp_follows(lines, index + 1):
            return index
        if _HEADER_FROM.match(line) and _header_block_follows(lines, index + 1, need=1):
            return index
    return len(lines)


def _header_block_follows(lines: list[str], start: int, need: int = 0) -> bool:
    """A From: line (when need=0) or `need` more header lines (Sent:, To:) come next."""
    window = [line for line in lines[start : start + 5] if line.strip()]
    if need == 0:
        return bool(window) and bool(_HEADER_FROM.match(window[0]))
    return sum(1 for line in window[:3] if _HEADER_SENT.match(line)) >= need


def _author_stamp_follows(lines: list[str], start: int) -> bool:
    """One of the next two non-blank lines is short and carries a time or a year."""
    window = [line for line in lines[start : start + 6] if line.strip()][:2]
    return any(len(line.split()) <= 12 and STAMP.search(line) for line in window)


def _attribution_lines(lines: list[str]) -> set[int]:
    """Indexes of attribution lines (one or two wrapped lines) that introduce quoted text."""
    found: set[int] = set()
    for index, line in enumerate(lines):
        if _is_quoted(line) or not line.strip():
            continue
        if not _quote_follows(lines, index + 1):
            continue
        if _ATTRIBUTION.match(line):
            found.add(index)
            if (
                index > 0
                and _ATTRIBUTION_START.match(lines[index - 1])
                and not re.search(rf"\b(?:{_WROTE})\b", lines[index - 1], re.IGNORECASE)
            ):
                found.add(index - 1)
    return found


def _quote_follows(lines: list[str], start: int) -> bool:
    """The next non-blank line is quoted, or nothing follows at all."""
    for line in lines[start:]:
        if line.strip():
            return _is_quoted(line)
    return True


def _strip_signature(lines: list[str]) -> tuple[list[str], list[str]]:
    for index, line in enumerate(lines):
        if _SIGNATURE_DELIMITER.match(line) or _MOBILE_FOOTER.match(line.strip()):
            return lines[:index], lines[index:]
    return lines, []


def _tidy(lines: list[str]) -> str:
    """Trailing spaces off, runs of blank lines collapsed, no blank lines at the ends."""
    out: list[str] = []
    for line in lines:
        clean = line.rstrip()
        if not clean and (not out or not out[-1]):
            continue
        out.append(clean)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def _comment_header(lines: list[str], opening: int) -> tuple[int, str]:
    """(index after it, author) of a helpdesk author header at `opening`, else (0, "").

    A date/time line has a time and at most three words of three letters or more
    besides numbers (a month, "at", a zone; "9 de abr. de 2025 15:48 BRT"), so "Hi
    Jo" above "Your order left us on 12 Nov 2026" is no header.
    """
    if opening >= len(lines):
        return 0, ""
    first = lines[opening]
    if _COMMENT_HEADER.match(first):
        return opening + 1, first.split(",", 1)[0].strip()
    if not _AUTHOR_LINE.match(first) or len(_PARENTHESES.sub("", first).split()) > 6:
        return 0, ""
    following = next((i for i in range(opening + 1, len(lines)) if lines[i].strip()), None)
    if following is None or following - opening > 2:
        return 0, ""
    stamp = lines[following]
    if not _TIME.search(stamp) or sum(len(w) > 2 for w in _WORD.findall(stamp)) > 3:
        return 0, ""
    return following + 1, first.strip()


def _is_notice(line: str) -> bool:
    """The helpdesk's own line: "Your request (#48213) has been updated ...", "Lucas
    (Voyages Atlantique) a répondu à votre demande n° 77120.", "Ticket #61290 - ..."."""
    if len(line.split()) > _NOTICE_WORDS:
        return False
    if _TICKET_LINE.match(line):
        return True
    return bool(_TICKET_REFERENCE.search(line) and _UPDATED.search(line))


def _after_notice(lines: list[str], opening: int) -> int:
    """The first line after the helpdesk's notice and ticket lines (and the rules under
    them), else `opening`: they are the system's, not the agent's."""
    index = opening
    while index < len(lines) and _is_notice(lines[index]):
        index += 1
        while index < len(lines) and (
            not lines[index].strip() or _HELPDESK_RULE.match(lines[index])
        ):
            index += 1
    return index


def _names_a_recipient(author: str, recipients: Sequence[str]) -> bool:
    """Every word of some recipient's name (display name, or address local part as in
    "victor.hale") is in the author line."""
    words = {word.casefold() for word in _WORD.findall(author)}
    for name in recipients:
        wanted = {word.casefold() for word in _WORD.findall(name)}
        if wanted and wanted <= words:
            return True
    return False


def split_reply(text: str, recipients: Sequence[str] = ()) -> ReplyParts:
    """Cut `text` into its parts; `recipients` are the names the reply is addressed to
    (display names, address local parts), to tell whose comment a helpdesk put on top."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    if first < len(lines) and _MARKER.match(lines[first]):
        lines = lines[first + 1 :]  # helpdesk marker on top: the reply is what follows

    opening = next((i for i, line in enumerate(lines) if line.strip()), 0)
    after_notice = _after_notice(lines, opening)
    if after_notice != opening:
        lines, opening = lines[after_notice:], 0
    header_end, author = _comment_header(lines, opening)
    only_history = bool(header_end) and _names_a_recipient(author, recipients)
    if header_end and not only_history:
        lines = lines[header_end:]  # the agent's own comment header, not the agent's words
    cut = 0 if only_history else _history_start(lines)
    body, history = lines[:cut], lines[cut:]
    attributions = _attribution_lines(body)
    new_lines: list[str] = []
    quoted_lines: list[str] = []
    for index, line in enumerate(body):
        if _is_quoted(line):
            quoted_lines.append(_unquote(line))
        elif index not in attributions:
            new_lines.append(line)
    new_lines, signature = _strip_signature(new_lines)
    inline = _inline_answers(body, attributions, len(signature))
    quoted_lines.extend(line for line in history if not _MARKER.match(line))
    return ReplyParts(_tidy(new_lines), _tidy(quoted_lines), _tidy(signature), inline)


def _inline_answers(
    body: list[str], attributions: set[int], signature_lines: int
) -> tuple[tuple[str, str], ...]:
    """(quoted passage, the agent's text under it) when the agent answered between quotes:
    at least two quoted passages with the agent's own text between them."""
    # (quoted?, lines); a blank line belongs to the agent's text but ends a quoted passage,
    # so "> Q2" / "" / "> Q3" / "" / "A3" leaves Q2 with nothing under it
    blocks: list[tuple[bool, list[str]]] = []
    passage_ended = False
    for index, line in enumerate(body):
        if index in attributions:
            continue
        if not line.strip():
            if blocks and not blocks[-1][0]:
                blocks[-1][1].append(line)
            passage_ended = True
            continue
        quoted = _is_quoted(line)
        if not blocks or blocks[-1][0] != quoted or (quoted and passage_ended):
            blocks.append((quoted, []))
        passage_ended = False
        blocks[-1][1].append(_unquote(line) if quoted else line)
    if signature_lines and blocks and not blocks[-1][0]:
        kept = blocks[-1][1][: max(0, len(blocks[-1][1]) - signature_lines)]
        blocks[-1] = (False, kept)
    quoted_at = [i for i, (quoted, _) in enumerate(blocks) if quoted]
    between = any(
        not blocks[i + 1][0] and _tidy(blocks[i + 1][1])
        for i in quoted_at[:-1]
        if i + 1 < len(blocks)
    )
    if len(quoted_at) < 2 or not between:
        return ()
    pairs = []
    for i in quoted_at:
        under = blocks[i + 1][1] if i + 1 < len(blocks) and not blocks[i + 1][0] else []
        pairs.append((_tidy(blocks[i][1]), _tidy(under)))
    return tuple(pairs)
