"""The tf.keras module paths that moved in Keras 3: data only, so that asking whether a
``.keras`` archive is a tf.keras 2.13-2.15 one costs no import of the upgrader."""

# tf.keras 2.13-2.15 (and tf_keras) module paths -> where Keras 3 has them
MOVED_MODULES = {
    "keras.src.engine.functional": "keras.src.models.functional",
    "keras.src.engine.sequential": "keras.src.models.sequential",
    "keras.src.engine.training": "keras.src.models.model",
    "keras.src.engine.input_layer": "keras.src.layers.core.input_layer",
    "keras.engine.functional": "keras.src.models.functional",
    "keras.engine.sequential": "keras.src.models.sequential",
    "keras.engine.training": "keras.src.models.model",
    "keras.engine.input_layer": "keras.src.layers.core.input_layer",
    # tf_keras (the tf.keras 2 package) writes its own module paths
    "tf_keras.src.engine.functional": "keras.src.models.functional",
    "tf_keras.src.engine.sequential": "keras.src.models.sequential",
    "tf_keras.src.engine.training": "keras.src.models.model",
    "tf_keras.src.engine.input_layer": "keras.src.layers.core.input_layer",
}
