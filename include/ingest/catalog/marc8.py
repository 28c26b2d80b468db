"""MARC-8 → Unicode for one field at a time, recovering what the escape sequences allow.

pymarc's `MARC8ToUnicode` (which this mirrors for clean data, with pymarc's own mapping
tables, so records converted before read the same) loses text without saying so on real
vendor files:

* a character set designated in one subfield stays in effect to the end of the *field*
  (MARC 21 character sets, "escape sequences … remain in effect until another escape
  sequence or the end of the field"); converting each subfield alone reads the CJK of an
  880 `$b` after a `$a` that switched to EACC as Latin-1 garbage;
* a space (0x20) inside EACC text is one byte, as other readers (MARC::Charset, yaz) read
  it; reading it as a third of a character misaligns every character after it and gave one
  "Unable to parse" message per space;
* a truncated escape (ESC at the end of the data) raised `TypeError: ord() expected a
  character…`; an unknown one was dropped silently.

`Marc8Field` keeps the G0/G1 state across the subfields of one field, puts U+FFFD where a
character cannot be mapped (a mangled multibyte character, a byte no table holds) and
collects one loss message per field: a record with losses is stored, flagged, never
silently. Output is always valid Unicode (NFC per subfield, as pymarc returns it).
"""
from __future__ import annotations

import unicodedata

BASIC_LATIN, ANSEL, EACC = 0x42, 0x45, 0x31
_TECHNIQUE_1 = {ord("g"): 0x67, ord("b"): 0x62, ord("p"): 0x70, ord("s"): BASIC_LATIN}
_G0 = frozenset(b"(,$")  # ESC ( F, ESC , F, ESC $ F, ESC $ , F
_G1 = frozenset(b")-")  # ESC ) F, ESC - F, ESC $ ) F, ESC $ - F
REPLACEMENT = "\ufffd"
marc8_mapping = None  # pymarc's tables, loaded by the first Marc8Field


class Marc8Field:
    """Converts the subfields of one field in order; `losses` says what could not be."""

    def __init__(self, where: str):
        global marc8_mapping
        if marc8_mapping is None:
            # imported on first use: pymarc.marc8_mapping is an 800 KB table (tens of MB
            # while it compiles without a .pyc) that a process reading UTF-8 never needs
            from pymarc import marc8_mapping
        self.where = where
        self.g0, self.g1 = BASIC_LATIN, ANSEL
        self._lost: list[str] = []

    @property
    def loss(self) -> str | None:
        """One message for the field (None when nothing was lost)."""
        if not self._lost:
            return None
        shown = ", ".join(self._lost[:3]) + (", …" if len(self._lost) > 3 else "")
        return (f"{self.where}: {len(self._lost)} MARC-8 character(s) could not be converted "
                f"({shown}); replaced with U+FFFD — check the record against its source")

    def text(self, data: bytes) -> str:
        """One subfield's data as Unicode, in the state the previous subfield left."""
        out: list[str] = []
        combining: list[str] = []
        pos, size = 0, len(data)
        while pos < size:
            byte = data[pos]
            if byte == 0x1B:
                pos = self._escape(data, pos)
                continue
            if self.g0 == EACC and byte >= 0x21:
                triple = data[pos:pos + 3]
                # a space, control or escape ends a character early: the bytes before it
                # are a mangled character, what follows is read normally (resync)
                cut = next((k for k, b in enumerate(triple) if b < 0x21), len(triple))
                if cut < 3:
                    self._lost.append(f"truncated multibyte character {triple[:cut].hex()}")
                    out.append(REPLACEMENT)
                    pos += cut
                    continue
                code, table, pos = int.from_bytes(triple, "big"), EACC, pos + 3
            else:
                code, pos = byte, pos + 1
                if code < 0x20 or 0x80 < code < 0xA0:
                    continue  # C0/C1 controls carry no text (pymarc drops them too)
                table = self.g1 if code > 0x80 else self.g0
                if code == 0x20:
                    table = BASIC_LATIN
            mapped = self._lookup(table, code)
            if mapped is None:
                self._lost.append(f"0x{code:x} in set 0x{table:02x}")
                out.append(REPLACEMENT)
                continue
            char, is_combining = mapped
            if is_combining:  # MARC-8 puts a diacritic before its base, Unicode after
                combining.append(char)
            else:
                out.append(char)
                if combining:
                    out.extend(combining)
                    combining = []
        out.extend(combining)
        return unicodedata.normalize("NFC", "".join(out))

    @staticmethod
    def _lookup(table: int, code: int) -> tuple[str, bool] | None:
        codeset = marc8_mapping.CODESETS.get(table, {})
        found = codeset.get(code)
        if found is None and code > 0x80:  # a 94-set designated as G1: its G0 positions
            found = codeset.get(code & 0x7F)
        if found is not None:
            return chr(found[0]), bool(found[1])
        odd = marc8_mapping.ODD_MAP.get(code)
        return None if odd is None else (chr(odd), False)

    def _escape(self, data: bytes, pos: int) -> int:
        """Apply the escape sequence at `pos`; the position after it. An incomplete or
        unknown sequence is a loss (the ESC is skipped, the bytes after it are read)."""
        first = data[pos + 1] if pos + 1 < len(data) else None
        if first in _TECHNIQUE_1:
            self.g0 = _TECHNIQUE_1[first]
            return pos + 2
        at, multibyte = pos + 1, False
        if first == ord("$"):
            at, multibyte = pos + 2, True
            if at < len(data) and data[at] in _G0 | _G1 and data[at] != ord("$"):
                at += 1
        elif first in _G0 or first in _G1:
            at = pos + 2
        final = data[at] if first is not None and at < len(data) else None
        if final is not None and final in marc8_mapping.CODESETS:
            to_g1 = data[at - 1] in _G1 if at - 1 > pos else False
            if to_g1 and not multibyte:
                self.g1 = final
            else:
                self.g0 = final
            return at + 1
        self._lost.append(f"escape sequence {data[pos:at + 1].hex(' ')} not recognised")
        return pos + 1 if final is None else at + 1  # incomplete: read what follows
