"""The job a user would write by hand instead of `kzoo train`: LeNet-5 (modern) on the 32x32 digits, in Keras.

The same model (ReLU, He init, max pooling, full C3, softmax), the same data (scikit-learn's digits, 70/15/15
stratified, resized to 24x24 and padded to 32x32, normalised per channel), the same recipe (Adam 1e-3, batch 32,
30 epochs, no augmentation), a test evaluation and a saved model: what benchmarks/run.py's whole_job compares
`kzoo train lenet5_modern --recipe benchmarks/whole_job_recipe.yaml` with.
"""

import keras
import numpy as np
import tensorflow as tf
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(0)
x, y = load_digits(return_X_y=True)
x = tf.image.resize(x.reshape(-1, 8, 8, 1).astype("float32") / 16.0, (24, 24))
x = np.pad(np.asarray(x), [(0, 0), (4, 4), (4, 4), (0, 0)])
x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=0.15, stratify=y, random_state=0)
x_train, x_val, y_train, y_val = train_test_split(
    x_rest, y_rest, test_size=0.15 / 0.85, stratify=y_rest, random_state=0
)

norm = keras.layers.Normalization(axis=-1)
norm.adapt(x_train)
relu = {"activation": "relu", "kernel_initializer": "he_normal"}
model = keras.Sequential(
    [
        keras.Input((32, 32, 1)),
        norm,
        keras.layers.Conv2D(6, 5, **relu),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, 5, **relu),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(120, 5, **relu),
        keras.layers.Flatten(),
        keras.layers.Dense(84, **relu),
        keras.layers.Dense(10, activation="softmax", kernel_initializer="he_normal"),
    ]
)
model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=30, validation_data=(x_val, y_val), verbose=0)
print(model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"])
model.save("/tmp/whole_job_script.keras")
