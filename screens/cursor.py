"""Where the focused item's text starts on screen, for screen-reader mode.

Braille displays and console screen readers (brltty, fenrir, speakup) follow the
terminal cursor, so tvirt puts it at the start of the text that has the focus or
the highlight: the VM name in the table's cursor row, the highlighted host, the
insertion point of an input, or the first cell of a button or checkbox.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual.coordinate import Coordinate
from textual.geometry import Offset
from textual.widget import Widget
from textual.widgets import Button, DataTable, Input, OptionList, TextArea


def text_offset(widget: Widget) -> Offset | None:
    """The screen cell where the widget's focused text starts, if it is on screen."""
    content = widget.content_region
    if not content.area:
        return None
    hook = getattr(widget, "reader_offset", None)
    if callable(hook):
        # A widget that knows where its item is (a console: the guest's cursor).
        answer = hook()
        return answer if isinstance(answer, Offset) or answer is None else None
    scroll_x, scroll_y = int(widget.scroll_x), int(widget.scroll_y)
    if isinstance(widget, (Input, TextArea)):
        return widget.cursor_screen_offset
    if isinstance(widget, DataTable):
        if not widget.row_count:
            # Table's sentence for an empty table is on the line after the header.
            lines = widget.header_height if widget.show_header else 0
            return _clamp(content.offset + Offset(0, lines), widget)
        column = (
            widget.cursor_column
            if widget.cursor_type == "cell"
            else int(getattr(widget, "text_column", 0))
        )
        if widget.cursor_type == "row":
            column = _first_filled(widget, column)
        cell = widget._get_cell_region(Coordinate(widget.cursor_row, column))
        # Cells are padded by cell_padding on the left; the text starts after it.
        x = content.x + cell.x - scroll_x + widget.cell_padding
        y = content.y + cell.y - scroll_y
        return _clamp(Offset(x, y), widget)
    if isinstance(widget, OptionList):
        highlighted = widget.highlighted
        if highlighted is None:
            return content.offset
        widget._update_lines()  # a list not drawn yet has not measured its lines
        if highlighted not in widget._index_to_line:
            return None
        line = widget._index_to_line[highlighted]
        # Options may be padded (the command palette's are): the text starts after it.
        pad = widget.get_component_styles("option-list--option").padding.left
        # An indented line (a wizard summary's XML) starts at its first letter.
        prompt = str(widget.get_option_at_index(highlighted).prompt)
        pad += len(prompt) - len(prompt.lstrip(" "))
        return _clamp(Offset(content.x + pad, content.y + line - scroll_y), widget)
    if isinstance(widget, Button):
        # Where the label is drawn (centred, or left-aligned in screen-reader mode): the
        # first letter on the button's middle line.
        y = content.y + content.height // 2
        text = widget.render_line(y - widget.region.y).text
        if text.strip():
            return Offset(widget.region.x + len(text) - len(text.lstrip()), y)
        spare = content.width - cell_len(str(widget.label))
        return Offset(content.x + max(spare, 0) // 2, y)
    return content.offset


def _first_filled(table: DataTable[Any], column: int) -> int:
    """The row's first cell with text from `column` on: an empty mark column ahead of a
    disk's name would leave the cursor on blanks before the item."""
    row = table.get_row_at(table.cursor_row)
    for index in range(column, len(row)):
        if str(row[index]).strip():
            return index
    return column


def _clamp(offset: Offset, widget: Widget) -> Offset:
    region = widget.content_region
    return Offset(
        min(max(offset.x, region.x), region.right - 1),
        min(max(offset.y, region.y), region.bottom - 1),
    )
