"""The op registry: one row per recipe op, from which everything that knows about ops draws.

A row (``OpSpec``) holds the edit class (its ``from_json`` parses the recipe object,
``to_json`` writes it back, ``describe`` gives the History panel's words), the function
that applies it to a graph, and the menu entries the GUI offers for it. Recipe parsing
(``parse_edit``), application (``core.surgery.apply``), preview (which compares graphs
and needs nothing per op) and the editor's context menu all read ``OPS``. Adding an op
is one row here plus its edit class, its function and its tests.

>>> parse_edit({"op": "rename", "layer": "predictions", "to": "logits"}).describe()
'Rename predictions -> logits'
>>> [entry.label for entry in menu_entries("block")][:2]
['Start model after this block', 'End model after this block']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from resect.core.graph import ModelGraph
from resect.core.surgery import bypass as bypass_ops
from resect.core.surgery import cut as cut_ops
from resect.core.surgery import dropping, head_ops, layer_ops, reinit_ops
from resect.core.surgery.edits import (
    AddOutputs,
    Bypass,
    Cut,
    DeleteLayer,
    Edit,
    InsertLayer,
    Reinitialize,
    Rename,
    ReplaceHead,
    ReplaceLayer,
    SetInputShape,
    SetTrainable,
)
from resect.core.surgery.errors import RecipeError
from resect.core.tensor_ref import TensorRef

# What a menu entry is offered on: a tensor (an edge, or a layer's output), a layer, a
# model input layer, a detected block, or the current pick.
Target = Literal["tensor", "layer", "input", "block", "pick"]


@dataclass(frozen=True)
class MenuContext:
    """What the menu was opened on, in the edited graph (the GUI fills it)."""

    graph: ModelGraph
    tensor: str | None = None  # tensor name (an edge, or the clicked layer call's output)
    layer: str | None = None  # layer key (``outer/inner`` inside a nested model)
    block: Any = None  # a detected block (``name``, ``entry``, ``exit``)
    boundary: tuple[tuple[TensorRef, ...], tuple[TensorRef, ...]] = ((), ())  # the pick's (inputs, outputs)
    picked: tuple[str, ...] = ()  # the picked top-level layer names
    # on a layer: the tensors the clicked call reads (``None`` on an edge, which has no sides)
    layer_inputs: tuple[str, ...] | None = None


@dataclass(frozen=True)
class MenuEntry:
    """One context-menu entry. ``make`` builds the edit at once (it may raise a
    ``ResectError`` saying why not); ``dialog`` instead names the GUI dialog that
    collects the parameters (``"head"``, ``"insert"``, ``"replace"``, ``"rename"``,
    ``"input"``). ``group`` separates entries; ``when`` hides an entry that does not apply."""

    label: str
    on: Target
    group: int = 0
    make: Callable[[MenuContext], Edit] | None = None
    dialog: str | None = None
    when: Callable[[MenuContext], bool] | None = None


@dataclass(frozen=True)
class OpSpec:
    """One recipe op: its edit class, the function applying it, its menu entries."""

    edit: type[Edit]
    apply: Callable[[ModelGraph, Any], ModelGraph]
    menu: tuple[MenuEntry, ...] = field(default=())

    @property
    def op(self) -> str:
        return self.edit.op


def _exit(ctx: MenuContext) -> str:
    return str(ctx.block.exit)


def _has_exit(ctx: MenuContext) -> bool:
    return ctx.block is not None and ctx.block.exit is not None


def _on_edge(ctx: MenuContext) -> bool:
    return ctx.layer_inputs is None


def _on_layer(ctx: MenuContext) -> bool:
    return ctx.layer_inputs is not None


def _reads_something(ctx: MenuContext) -> bool:
    return bool(ctx.layer_inputs)


def _layer_key(ctx: MenuContext) -> str:
    assert ctx.layer is not None
    return ctx.layer


OPS: dict[str, OpSpec] = {
    spec.op: spec
    for spec in (
        OpSpec(
            Cut,
            lambda graph, edit: cut_ops.cut(graph, edit.inputs, edit.outputs, edit.complete),
            (
                # on an edge the tensor has no sides; on a layer the words say which side
                # of it the new model starts (keep the layer, or drop it)
                MenuEntry("Start model here", "tensor", 0, lambda c: Cut(inputs=(str(c.tensor),)), when=_on_edge),
                MenuEntry(
                    "Start model at this layer's input",
                    "tensor",
                    0,
                    lambda c: Cut(inputs=tuple(c.layer_inputs or ())),
                    when=_reads_something,
                ),
                MenuEntry(
                    "Start model at its output", "tensor", 0, lambda c: Cut(inputs=(str(c.tensor),)), when=_on_layer
                ),
                MenuEntry("End model here", "tensor", 0, lambda c: Cut(outputs=(str(c.tensor),))),
                MenuEntry(
                    "Start model after this block", "block", 0, lambda c: Cut(inputs=(_exit(c),)), when=_has_exit
                ),
                MenuEntry("End model after this block", "block", 0, lambda c: Cut(outputs=(_exit(c),)), when=_has_exit),
            ),
        ),
        OpSpec(
            AddOutputs,
            lambda graph, edit: cut_ops.add_outputs(graph, edit.tensors),
            (
                MenuEntry("Add as output", "tensor", 0, lambda c: AddOutputs((str(c.tensor),))),
                MenuEntry("Add block output as output", "block", 0, lambda c: AddOutputs((_exit(c),)), when=_has_exit),
            ),
        ),
        OpSpec(
            SetTrainable,
            layer_ops.set_trainable,
            (
                MenuEntry(
                    "Freeze this and everything before it",
                    "tensor",
                    1,
                    lambda c: SetTrainable(False, below=str(c.tensor)),
                ),
                MenuEntry(
                    "Unfreeze everything after it", "tensor", 1, lambda c: SetTrainable(True, above=str(c.tensor))
                ),
                MenuEntry(
                    "Freeze this block and everything before it",
                    "block",
                    0,
                    lambda c: SetTrainable(False, below=_exit(c)),
                    when=_has_exit,
                ),
            ),
        ),
        OpSpec(
            ReplaceHead,
            head_ops.replace_head,
            (MenuEntry("Replace head from here…", "tensor", 2, dialog="head"),),
        ),
        OpSpec(
            InsertLayer,
            layer_ops.insert_layer,
            (MenuEntry("Insert layer after…", "tensor", 2, dialog="insert"),),
        ),
        OpSpec(
            SetInputShape,
            head_ops.set_input_shape,
            (MenuEntry("Change input shape…", "input", 0, dialog="input"),),
        ),
        OpSpec(
            DeleteLayer,
            layer_ops.delete_layer,
            (MenuEntry("Delete layer", "layer", 3, lambda c: DeleteLayer(_layer_key(c))),),
        ),
        OpSpec(
            ReplaceLayer,
            layer_ops.replace_layer,
            (MenuEntry("Replace layer…", "layer", 3, dialog="replace"),),
        ),
        OpSpec(
            Rename,
            layer_ops.rename,
            (MenuEntry("Rename…", "layer", 3, dialog="rename"),),
        ),
        OpSpec(
            Bypass,
            bypass_ops.bypass,
            (
                MenuEntry("Remove block", "block", 1, lambda c: dropping.edit_for_removing(c.graph, c.block)),
                MenuEntry(
                    "Remove picked stretch", "pick", 0, lambda c: dropping.edit_for_stretch(c.graph, *c.boundary)
                ),
            ),
        ),
        OpSpec(
            Reinitialize,
            reinit_ops.reinitialize,
            (
                MenuEntry("Re-initialise weights", "layer", 5, lambda c: Reinitialize(layers=(_layer_key(c),))),
                MenuEntry("Re-initialise weights", "block", 2, lambda c: Reinitialize(layers=_top(c.block.layers))),
                MenuEntry("Re-initialise picked layers", "pick", 1, lambda c: Reinitialize(layers=c.picked)),
            ),
        ),
    )
}


def _top(keys: tuple[str, ...]) -> tuple[str, ...]:
    """A block's top-level layers (a nested model stands for its inner layers)."""
    return tuple(dict.fromkeys(key.split("/", 1)[0] for key in keys))


def spec_of(edit: Edit) -> OpSpec | None:
    """The registry row of an edit object (``None`` for something that is not one)."""
    spec = OPS.get(getattr(edit, "op", ""))
    return spec if spec is not None and isinstance(edit, spec.edit) else None


def parse_edit(obj: Any) -> Edit:
    """One recipe edit object -> an ``Edit``; raises ``RecipeError`` (without file context)."""
    if not isinstance(obj, Mapping):
        raise RecipeError("an edit must be an object with an 'op'")
    op = obj.get("op")
    spec = OPS.get(op) if isinstance(op, str) else None
    if spec is None:
        known = ", ".join(sorted(OPS))
        raise RecipeError(f"unknown op {op!r} (known: {known})")
    return spec.edit.from_json(obj)


def menu_entries(on: Target) -> list[MenuEntry]:
    """The menu entries offered on ``on``, in (group, registry) order."""
    entries = [entry for spec in OPS.values() for entry in spec.menu if entry.on == on]
    return sorted(entries, key=lambda entry: entry.group)
