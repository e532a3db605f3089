"""The release tests build VGG-sized models in the suite's own process: each test's models are let go when it
ends (Keras' session cleared, Python's cycles collected), so the process does not hold every one of them."""

from __future__ import annotations

import gc

import pytest


@pytest.fixture(autouse=True)
def _release_models():
    yield
    import keras

    keras.backend.clear_session()
    gc.collect()
