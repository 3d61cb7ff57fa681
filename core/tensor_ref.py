"""Tensor addresses, as Keras' own ``keras_history``: (layer, node_index, tensor_index).

Text form (the recipe and CLI contract): ``"LAYER"`` is output 0 of node 0,
``"LAYER:NODE"`` and ``"LAYER:NODE:INDEX"`` pick another call or output.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_INDEX_DIGITS = 9


@dataclass(frozen=True, order=True)
class TensorRef:
    """One tensor of the graph: output ``tensor_index`` of call ``node_index`` of ``layer``.

    >>> TensorRef.parse("add_3:1")
    TensorRef(layer='add_3', node_index=1, tensor_index=0)
    >>> str(TensorRef("conv1_conv", 0, 0))
    'conv1_conv:0:0'
    """

    layer: str
    node_index: int = 0
    tensor_index: int = 0

    def __str__(self) -> str:
        return f"{self.layer}:{self.node_index}:{self.tensor_index}"

    @classmethod
    def parse(cls, text: str) -> TensorRef:
        """Parse ``LAYER[:NODE[:INDEX]]``; layer names may themselves contain ``:``
        only if both indices are given."""
        if not isinstance(text, str) or not text:
            raise ValueError(f"not a tensor name: {text!r}")
        parts = text.rsplit(":", 2)
        numbers: list[int] = []
        while len(parts) > 1 and parts[-1].isdigit() and len(numbers) < 2:
            if not parts[-1].isascii() or len(parts[-1]) > MAX_INDEX_DIGITS:
                # "enc2:١:0" is not "enc2:1:0": int() reads any Unicode digit; we read 0-9
                raise ValueError(f"not a tensor name: {text!r} (indices are 0-9 digits, at most 9)")
            numbers.insert(0, int(parts.pop()))
        layer = ":".join(parts)
        if not layer:
            raise ValueError(f"not a tensor name: {text!r}")
        node_index = numbers[0] if numbers else 0
        tensor_index = numbers[1] if len(numbers) > 1 else 0
        return cls(layer, node_index, tensor_index)

    @property
    def node_key(self) -> tuple[str, int]:
        """The (layer, node_index) of the call that produces this tensor."""
        return (self.layer, self.node_index)
