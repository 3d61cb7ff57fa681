"""Colours, fonts and text metrics shared by every renderer (Qt canvas, SVG, PNG).

One palette, keyed by layer *kind* (not class), so a user learns it once: soft fills
that read on white, each with a darker stroke of the same hue. Text widths come from
DejaVu Sans advance widths (measured once with Pillow at 1000 px/em and stored here),
so the layout sizes boxes the same way whether Qt, a browser or Pillow draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat

FONT_FAMILY = "DejaVu Sans, Verdana, Arial, sans-serif"
TITLE_SIZE = 12.0  # px: layer name (bold)
SUBTITLE_SIZE = 10.5  # px: output shape
BADGE_SIZE = 9.0  # px: parameter count
TEXT_COLOUR = "#1a1a1a"
SUBTITLE_COLOUR = "#555555"
BADGE_COLOUR = "#6b6b6b"
EDGE_COLOUR = "#8a94a6"
EDGE_HIGHLIGHT_COLOUR = "#e0472b"
HIGHLIGHT_STROKE = "#e0472b"
OUTPUT_STROKE = "#111111"
PROBLEM_STROKE = "#b3261e"  # a layer Keras cannot load as is (the tree shows it in this red too)
BACKGROUND = "#ffffff"
GROUP_FILL = "#fffaf0"  # frame behind an expanded nested model
GROUP_STROKE = "#d9c27a"
GROUP_TITLE_COLOUR = "#8a6d00"
GROUP_TITLE_SIZE = 10.0
GROUP_PAD = 9.0

BOX_HEIGHT = 44.0
BOX_MIN_WIDTH = 72.0
BOX_MAX_WIDTH = 240.0
BOX_PAD_X = 10.0
CORNER_RADIUS = 6.0
STROKE_WIDTH = 1.2
EDGE_WIDTH = 1.2
STACK_OFFSET = 4.0  # px: the card drawn behind a collapsed block
CALL_BAND_WIDTH = 6.0  # px: the colour band on the left of every call box of a shared layer
# one colour per shared layer: its calls carry the same band, so they read as one layer's
CALL_BANDS = ("#e8590c", "#1971c2", "#2f9e44", "#ae3ec9", "#f08c00", "#0c8599", "#c2255c", "#5f3dc4")


def call_band(layer_key: str) -> str:
    """The band colour tying the calls of one shared layer (stable across runs: no hash())."""
    return CALL_BANDS[sum(layer_key.encode()) % len(CALL_BANDS)]


@dataclass(frozen=True)
class KindStyle:
    label: str
    fill: str
    stroke: str


KINDS: dict[str, KindStyle] = {
    "convolution": KindStyle("Convolution", "#dcebfa", "#3b7dd8"),
    "normalization": KindStyle("Normalisation", "#e2f3e7", "#3e9e5c"),
    "activation": KindStyle("Activation", "#fdebd8", "#e07b24"),
    "merge": KindStyle("Merge", "#f1e2f6", "#9b4db0"),
    "pooling": KindStyle("Pooling", "#daf1f2", "#2c9aa0"),
    "dense": KindStyle("Dense / embedding", "#fbe0e0", "#cf4646"),
    "input": KindStyle("Input", "#e6e6e6", "#3d3d3d"),
    "nested": KindStyle("Nested model", "#fff4cc", "#b38f00"),
    "dropout": KindStyle("Dropout / regularisation", "#f0f0f0", "#9a9a9a"),
    "reshape": KindStyle("Reshape / padding", "#e9e6f8", "#6c63c4"),
    "recurrent": KindStyle("Recurrent / attention", "#f9e1ee", "#c2457e"),
    "other": KindStyle("Other", "#f5f5f5", "#7a7a7a"),
    "block": KindStyle("Collapsed block", "#eef3fa", "#1f3a5f"),
}

_MERGE = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"}
_ACTIVATION = {"Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "ThresholdedReLU"}
_DENSE = {"Dense", "EinsumDense", "Embedding", "Identity"}
_DROPOUT = {"ActivityRegularization", "GaussianNoise", "GaussianDropout", "AlphaDropout"}
_RECURRENT = {"RNN", "LSTM", "GRU", "SimpleRNN", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"}
_RESHAPE = {"Reshape", "Flatten", "Permute", "RepeatVector", "Resizing"}
_NESTED = {"Functional", "Sequential", "Model"}


def kind_of(class_name: str) -> str:
    """The palette kind of a Keras layer class, e.g. ``kind_of("Conv2D") == "convolution"``.

    Unknown (custom) classes fall back on name patterns, then ``"other"``.
    """
    name = class_name.rsplit(">", 1)[-1].rsplit(".", 1)[-1]
    if name == "InputLayer":
        return "input"
    if name in _NESTED:
        return "nested"
    if name in _RECURRENT or "LSTM" in name or "GRU" in name or "RNN" in name or "Attention" in name:
        return "recurrent"
    if name in _MERGE:
        return "merge"
    if name in _ACTIVATION or name.endswith("Activation"):
        return "activation"
    if "Pool" in name:
        return "pooling"
    if "Conv" in name:
        return "convolution"
    if "Normalization" in name:
        return "normalization"
    if name in _DENSE:
        return "dense"
    if "Dropout" in name or name in _DROPOUT:
        return "dropout"
    if name in _RESHAPE or name.startswith(("ZeroPadding", "Cropping", "UpSampling")):
        return "reshape"
    return "other"


def kind_style(kind: str) -> KindStyle:
    return KINDS.get(kind, KINDS["other"])


# DejaVu Sans advance widths (em) for ASCII 32..126, regular and bold.
_REGULAR = (
    0.318, 0.401, 0.46, 0.838, 0.636, 0.95, 0.78, 0.275, 0.39, 0.39, 0.5, 0.838, 0.318, 0.361, 0.318, 0.337,
    0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.636, 0.337, 0.337, 0.838, 0.838, 0.838,
    0.531, 1.0, 0.684, 0.686, 0.698, 0.77, 0.632, 0.575, 0.775, 0.752, 0.295, 0.295, 0.656, 0.557, 0.863, 0.748,
    0.787, 0.603, 0.787, 0.695, 0.635, 0.611, 0.732, 0.684, 0.989, 0.685, 0.611, 0.685, 0.39, 0.337, 0.39, 0.838,
    0.5, 0.5, 0.613, 0.635, 0.55, 0.635, 0.615, 0.352, 0.635, 0.634, 0.278, 0.278, 0.579, 0.278, 0.974, 0.634,
    0.612, 0.635, 0.635, 0.411, 0.521, 0.392, 0.634, 0.592, 0.818, 0.592, 0.592, 0.525, 0.636, 0.337, 0.636, 0.838,
)  # fmt: skip
_BOLD = (
    0.348, 0.456, 0.521, 0.838, 0.696, 1.002, 0.872, 0.306, 0.457, 0.457, 0.523, 0.838, 0.38, 0.415, 0.38, 0.365,
    0.696, 0.696, 0.696, 0.696, 0.696, 0.696, 0.696, 0.696, 0.696, 0.696, 0.4, 0.4, 0.838, 0.838, 0.838, 0.58,
    1.0, 0.774, 0.762, 0.734, 0.83, 0.683, 0.683, 0.821, 0.837, 0.372, 0.372, 0.775, 0.637, 0.995, 0.837, 0.85,
    0.733, 0.85, 0.77, 0.72, 0.682, 0.812, 0.774, 1.103, 0.771, 0.724, 0.725, 0.457, 0.365, 0.457, 0.838, 0.5,
    0.5, 0.675, 0.716, 0.593, 0.716, 0.678, 0.435, 0.716, 0.712, 0.343, 0.343, 0.665, 0.343, 1.042, 0.712, 0.687,
    0.716, 0.716, 0.493, 0.595, 0.478, 0.712, 0.652, 0.924, 0.645, 0.652, 0.582, 0.712, 0.365, 0.712, 0.838,
)  # fmt: skip


_ASCII = [chr(code) for code in range(32, 127)]
_EM = {False: dict(zip(_ASCII, _REGULAR, strict=True)), True: dict(zip(_ASCII, _BOLD, strict=True))}


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width in px of ``text`` in DejaVu Sans at ``size`` px (non-ASCII counts as 0.84 em)."""
    return sum(map(_EM[bold].get, text, repeat(0.84))) * size


def fit_text(text: str, size: float, max_width: float, bold: bool = False) -> str:
    """``text`` cut with an ellipsis in the middle so it fits ``max_width`` px.

    Middle elision keeps both the prefix and the distinguishing suffix of names
    like ``conv4_block6_2_conv``.
    """
    # no glyph is narrower than a fifth of the font size: a 1 MB name is cut first, so
    # neither the width test nor the loop below ever sees more than a label's worth
    most = int(max_width / max(size * 0.2, 0.1)) + 2
    if len(text) > most:
        text = text[: most // 2 + 1] + text[-(most // 2 + 1) :]
        keep = most
    elif text_width(text, size, bold) <= max_width + 0.01:
        return text
    else:
        keep = len(text)
    while keep > 1:
        keep -= 1
        head = (keep + 1) // 2
        tail = keep - head
        candidate = text[:head] + "…" + (text[-tail:] if tail else "")
        if text_width(candidate, size, bold) <= max_width + 0.01:
            return candidate
    return "…"
