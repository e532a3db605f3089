"""What a classifier's output holds - probabilities or logits - decided by its last activation, in one place.

kzoo trains, evaluates, predicts and inspects with one rule. An output that ends in
``softmax`` (or LeNet-5's ``map_softmax``) holds probabilities; one with no activation
(``linear``: keras.applications' ``classifier_activation=None``) holds logits, which the
loss takes with ``from_logits=True`` and prediction turns into probabilities with a
softmax. Any other final activation (``relu``, ``sigmoid``, ``tanh`` ...) is not a
distribution over classes: Keras's cross-entropy would quietly renormalise it and the
run would train at chance, so it is refused. No TensorFlow or Keras here: ``kzoo train``
checks an architecture's outputs before either starts.
"""

from __future__ import annotations

from kzoo.errors import KzooError, Mark, SpecError

PROBABILITIES = frozenset({"softmax", "map_softmax"})
LOGITS = frozenset({"linear"})
HINT = "end the classifier in activation: softmax (probabilities) or linear (logits)"


def kind(activation: str, output: str, mark: Mark | None = None, path: str | None = None) -> str:
    """``"probabilities"`` or ``"logits"`` for an output whose last activation is ``activation``; else an error."""
    if activation in PROBABILITIES:
        return "probabilities"
    if activation in LOGITS:
        return "logits"
    message = (
        f"the output {output!r} ends in {activation}, which gives no class probabilities: a classifier's output "
        "is softmax probabilities or linear logits"
    )
    if mark is not None or path is not None:
        raise SpecError(message, mark, path, HINT)
    raise KzooError(message, HINT)
