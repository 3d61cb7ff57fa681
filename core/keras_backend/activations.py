"""Every tensor a model computes, in one pass: a multi-output ``keras.Model`` (a *probe*).

What users write by hand, ``keras.Model(model.inputs, [layer.output ...])``, done for every
call of every layer: a shared layer's calls are separate tensors ``LAYER:NODE:INDEX``
(Keras' own ``keras_history`` order, counting only the model's own calls). Tensors inside
a nested model exist only in that model's own graph; for each call of it the probe calls
an *extractor* (``keras.Model(nested.inputs, [its tensors])``, the same layer objects) on
that call's inputs, and names the results ``OUTER/INNER:K:INDEX`` with calls numbered
outer-call-major as the surgery engine does (``K = outer_call * inner_calls + inner_call``).
Left out: a nested model's own ``InputLayer`` tensors (they are the outer call's inputs),
and tensors a non-Functional layer computes inside its ``call`` (Keras exposes none).

An edited model (a recipe) is built by ``build.build`` from the original's layer objects
and probed the same way, its tensors named as the edited graph names them. Probes are
built once per model object and recipe and kept (``probe_for``); running one is one
eager call until its compiled call is traced (``activation_call``: once per probe, any
batch size, in the background), and that call from then on.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from resect.core.data_input import InputSpec, applications_family
from resect.core.errors import ResectError
from resect.core.keras_backend.build import model_calls
from resect.core.keras_backend.runtime import import_keras, run_deep
from resect.core.tensor_ref import TensorRef

__all__ = [
    "ActivationsError",
    "Probe",
    "edited_tensors",
    "family_preprocess",
    "model_tensors",
    "probe_for",
    "recipe_key",
    "kept_differences",
]


class ActivationsError(ResectError):
    """A tensor name the probe does not know, or a run Keras refuses: one line."""


@dataclass
class Probe:
    """A model's inputs -> every tensor it computes, by name, built once and reused."""

    model: Any  # keras.Model with a list of inputs and a list of outputs
    names: list[str]  # output position -> tensor name ("LAYER:NODE:INDEX")
    inputs: list[InputSpec]
    int_high: dict[str, int]  # input name -> bound for random integers (an Embedding's input_dim)
    model_name: str
    kept: dict[str, str] = field(default_factory=dict)  # edited probe: tensor -> original tensor it keeps
    outputs: list[str] = field(default_factory=list)  # names of the probed model's own outputs
    runs: int = 0
    _subsets: dict[tuple[str, ...], Any] = field(default_factory=dict, repr=False)
    _compiled: Any = field(default=None, repr=False)  # activation_call.CompiledCall, made when first wanted
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def resolve(self, names: Sequence[str]) -> list[str]:
        """Tensor names as the probe writes them (``conv1`` -> ``conv1:0:0``); an unknown
        one raises naming it."""
        known = set(self.names)
        resolved = []
        for text in names:
            try:
                name = str(TensorRef.parse(text.strip()))
            except ValueError:
                raise ActivationsError(f"not a tensor name: {text!r}") from None
            if name not in known:
                raise ActivationsError(f"model {self.model_name!r} has no tensor {name!r}")
            resolved.append(name)
        return list(dict.fromkeys(resolved))

    def run(
        self, feeds: Sequence[np.ndarray], only: Sequence[str] | None = None, compiled: bool | None = None
    ) -> dict[str, np.ndarray]:
        """Every tensor's value (or those ``only`` names, already resolved) for ``feeds``
        (one array per input, in ``inputs`` order), in one pass of the model.

        ``compiled``: ``None`` (default) runs the compiled call when its trace is ready and
        the feeds fit its signature, else eagerly (no waiting: see ``trace_soon``);
        ``True`` traces first if need be (once per probe); ``False`` runs eagerly."""
        if only is not None:
            model, names = self._subset(tuple(only)), list(only)
            call = None
        else:
            model, names = self.model, self.names
            call = self._call(compiled)
            if call is not None and not call.fits(feeds):
                call = None
        self.runs += 1
        try:
            if call is not None:
                values = call(list(feeds))
            else:
                values = run_deep(model, list(feeds), training=False)
        except Exception as error:  # Keras / TensorFlow: ValueError, InvalidArgumentError, ...
            text = " ".join(str(error).split())[:240] or type(error).__name__
            raise ActivationsError(f"model {self.model_name!r} cannot run this data: {text}") from None
        if not isinstance(values, (list, tuple)):
            values = [values]
        return {name: np.asarray(value) for name, value in zip(names, values, strict=True)}

    @property
    def compiled(self) -> bool:
        """Whether runs go through the traced call now."""
        return self._compiled is not None and self._compiled.ready

    def trace_soon(self) -> None:
        """Trace the compiled call in the background (the worker, after answering), so a
        later run need not wait for TensorFlow's trace."""
        self._call(None, create=True)
        self._compiled.trace_soon()

    def wait_for_trace(self, timeout: float | None = None) -> bool:
        """Wait for a trace ``trace_soon`` started; whether runs are compiled now."""
        return self._compiled is not None and self._compiled.wait(timeout)

    def _call(self, compiled: bool | None, create: bool = False) -> Any:
        """The compiled call to run through, or ``None`` for the eager one."""
        if compiled is False:
            return None
        with self._lock:
            if self._compiled is None and (compiled or create):
                from resect.core.keras_backend.activation_call import CompiledCall

                self._compiled = CompiledCall(self.model)
            call = self._compiled
        if call is not None and compiled:
            call.trace()
        return call if call is not None and call.ready else None

    def _subset(self, names: tuple[str, ...]) -> Any:
        subset = self._subsets.get(names)
        if subset is None:
            keras = import_keras()
            position = {name: i for i, name in enumerate(self.names)}
            outputs = [self.model.outputs[position[name]] for name in names]
            subset = run_deep(keras.Model, self.model.inputs, outputs)
            self._subsets = {names: subset}  # one subset at a time: the GUI asks for one set
        return subset


# --- which tensors ------------------------------------------------------------------------
def model_tensors(model: Any) -> dict[str, Any]:
    """Every tensor of ``model``'s graph by name, nested models' inner tensors included."""
    own: dict[str, Any] = {}
    for operation in _graph_of(model).operations:
        for node_index, call in enumerate(model_calls(model, operation)):
            for tensor_index, tensor in enumerate(call.outputs):
                own[str(TensorRef(operation.name, node_index, tensor_index))] = tensor
    return _with_nested(own)


def edited_tensors(built: Any) -> dict[str, Any]:
    """Every tensor of a ``build.BuiltModel`` named as its edited graph names them."""
    own = {str(ref): tensor for ref, tensor in sorted(built.tensors.items(), key=lambda item: item[0])}
    return _with_nested(own)


def _graph_of(model: Any) -> Any:
    """The Functional that holds a model's graph (a Sequential keeps one inside)."""
    return getattr(model, "_functional", None) or model


def _is_nested_model(operation: Any) -> bool:
    return hasattr(operation, "_nodes") or getattr(operation, "_functional", None) is not None


def _with_nested(own: dict[str, Any]) -> dict[str, Any]:
    """``own`` plus, after each call of a nested model, that call's inner tensors."""
    tensors: dict[str, Any] = {}
    extractors: dict[int, tuple[Any, list[str], dict[str, int]]] = {}
    done: set[tuple[int, int]] = set()
    for name, tensor in own.items():
        tensors[name] = tensor
        operation, keras_node_index, _ = tensor._keras_history
        if not _is_nested_model(operation) or (id(operation), keras_node_index) in done:
            continue
        done.add((id(operation), keras_node_index))
        if id(operation) not in extractors:
            extractors[id(operation)] = _extractor(operation)
        extractor, inner_names, counts = extractors[id(operation)]
        if extractor is None:
            continue
        call = TensorRef.parse(name).node_index
        arguments = operation._inbound_nodes[keras_node_index].arguments
        outputs = extractor(*arguments.args)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for inner, value in zip(inner_names, outputs, strict=True):
            ref = TensorRef.parse(inner)
            number = call * counts[ref.layer] + ref.node_index
            tensors[str(TensorRef(f"{operation.name}/{ref.layer}", number, ref.tensor_index))] = value
    return tensors


def _extractor(nested: Any) -> tuple[Any, list[str], dict[str, int]]:
    """``keras.Model(nested.inputs, [every inner tensor but its inputs])``, the names of
    those tensors, and how many calls each inner layer (path) makes per call of ``nested``."""
    keras = import_keras()
    inner = {
        name: tensor
        for name, tensor in model_tensors(nested).items()
        if type(tensor._keras_history[0]).__name__ != "InputLayer"
    }
    counts: dict[str, int] = {}
    for name in inner:
        ref = TensorRef.parse(name)
        counts[ref.layer] = max(counts.get(ref.layer, 0), ref.node_index + 1)
    if not inner:
        return None, [], counts
    inputs = _graph_of(nested)._inputs_struct  # as the model is called: a tensor, a list, a dict
    return keras.Model(inputs, list(inner.values())), list(inner), counts


# --- probes, cached -----------------------------------------------------------------------
_cache_lock = threading.Lock()
_cache: dict[tuple[int, str], tuple[weakref.ref[Any], Probe]] = {}
CACHE_SIZE = 4  # probes of one model (the original and the last edited versions); they hold no data


def probe_for(
    model: Any, recipe_key: str = "", edited: Callable[[], tuple[Any, dict[str, Any]]] | None = None
) -> Probe:
    """The probe of ``model`` or, with ``edited`` (called only when not cached: it builds
    the edited model and returns it with its named tensors), of the edited model that
    ``recipe_key`` names; built on the first call and kept while ``model`` lives."""
    key = (id(model), recipe_key)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and cached[0]() is model:
            return cached[1]
    probe = run_deep(_make_probe, model, edited)
    with _cache_lock:
        for other in [k for k in _cache if k[0] != id(model)]:  # a probe holds its model's weights:
            del _cache[other]  # one model at a time, as the worker keeps one loaded model
        _cache[key] = (weakref.ref(model), probe)
        while len(_cache) > CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
    return probe


def recipe_key(edits: Sequence[Any]) -> str:
    """A stable key for a list of edits (their recipe JSON)."""
    from resect.core.surgery.recipe import dump_recipe

    return json.dumps(dump_recipe(edits), sort_keys=True)


def _make_probe(model: Any, edited: Callable[[], tuple[Any, dict[str, Any]]] | None) -> Probe:
    keras = import_keras()
    source, found = edited() if edited is not None else (model, model_tensors(model))
    inputs = list(source.inputs)
    probe_model = keras.Model(inputs, list(found.values()), name=f"{source.name}_activations")
    specs = [_spec(tensor) for tensor in inputs]
    own_outputs = {id(tensor) for tensor in source.outputs}
    outputs = [name for name, tensor in found.items() if id(tensor) in own_outputs]
    return Probe(probe_model, list(found), specs, _int_bounds(inputs), str(source.name), outputs=outputs)


def _spec(tensor: Any) -> InputSpec:
    layer = tensor._keras_history[0]
    shape = tuple(None if d is None else int(d) for d in tensor.shape)
    return InputSpec(str(layer.name), shape, str(tensor.dtype))


def _int_bounds(inputs: list[Any]) -> dict[str, int]:
    """Input name -> the smallest ``input_dim`` of an ``Embedding`` that reads it."""
    bounds: dict[str, int] = {}
    for tensor in inputs:
        layer = tensor._keras_history[0]
        for node in getattr(layer, "_outbound_nodes", ()):
            consumer = node.operation
            if type(consumer).__name__ == "Embedding":
                dim = int(consumer.input_dim)
                bounds[layer.name] = min(bounds.get(layer.name, dim), dim)
    return bounds


# --- preprocessing and differences ----------------------------------------------------------
def family_preprocess(model_name: str) -> Callable[[np.ndarray], np.ndarray] | None:
    """The ``preprocess_input`` of the keras.applications family ``model_name`` is from."""
    module = applications_family(model_name)
    if module is None:
        return None
    keras = import_keras()
    return getattr(keras.applications, module).preprocess_input


def kept_differences(
    original: Mapping[str, np.ndarray], edited: Mapping[str, np.ndarray], pairs: Mapping[str, str]
) -> dict[str, float]:
    """Edited tensor -> largest absolute difference from the original tensor it keeps
    (``pairs``: edited name -> original name, from ``verify.faithful_tensors``)."""
    from resect.core.keras_backend.verify import max_abs_diff

    differences = {}
    for name, source in pairs.items():
        if name in edited and source in original and edited[name].shape == original[source].shape:
            differences[name] = max_abs_diff(edited[name], original[source])
    return differences
