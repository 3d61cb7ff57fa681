"""Write a zoo model as a legacy .h5 with tf.keras 2 (run in its own process)."""

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
warnings.filterwarnings("ignore")

import tf_keras  # noqa: E402
import zoo  # noqa: E402

if __name__ == "__main__":
    name, target = sys.argv[1], sys.argv[2]
    tf_keras.utils.set_random_seed(1234)
    model = zoo.BUILDERS[name](tf_keras)
    model.save(target, save_format="h5")
