"""Layer edits (in progress)."""

from core.surgery.errors import EditError


def _todo(graph, edit):
    raise EditError(f"{edit.op} is not implemented yet")


insert_layer = delete_layer = replace_layer = set_trainable = rename = _todo
