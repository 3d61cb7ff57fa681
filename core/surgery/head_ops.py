"""set_input_shape and replace_head (in progress)."""

from core.surgery.errors import EditError


def set_input_shape(graph, edit):
    raise EditError("set_input_shape is not implemented yet")


def replace_head(graph, edit):
    raise EditError("replace_head is not implemented yet")
