"""W3/W4 written the ways a NumPy or PyTorch user writes them: one row per spelling.

The suite's own chainrule rows write the MLP the library's way (``@``, ``F.relu``, a
log-softmax with the row maximum taken off the graph). A user writes the same model in
other, equally common ways; speed must not depend on which. Each row below changes one
thing from that default (one activation, one loss, one product), and one row changes all
three to the NumPy user's spelling. Every row's gradient is checked against the float64
reference before it is timed, functional and replayed by ``cr.jit`` alike; the report's
"× best spelling" column compares each row with the fastest of its kind.
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.scipy.special as csp
from chainrule.nn import functional as F

# -- activations (W4: ReLU) ------------------------------------------------------------


def relu_maximum(h):
    return np.maximum(h, 0.0)


def relu_where(h):
    return np.where(h > 0, h, 0.0)


def relu_mask(h):
    return h * (h > 0)


RELUS = {
    "F.relu": F.relu,
    "np.maximum(h, 0.0)": relu_maximum,
    "np.where(h > 0, h, 0.0)": relu_where,
    "h * (h > 0)": relu_mask,
}

# -- softmax cross-entropy: the log-probabilities of the logits z (batch, classes) -------


def log_softmax_stopped(z):
    # The suite's default: the shift by the row maximum only keeps exp in range, so it is
    # taken off the graph (it changes no derivative).
    s = z - np.max(cr.stop_gradient(z), axis=1, keepdims=True)
    return s - cnp.log(cnp.sum(cnp.exp(s), axis=1, keepdims=True))


def log_softmax_logsumexp(z):
    return z - csp.logsumexp(z, axis=1, keepdims=True)


def log_softmax_functional(z):
    return F.log_softmax(z, dim=1)


def log_softmax_by_hand(z):
    # as written in a textbook: the maximum stays on the graph
    s = z - np.max(z, axis=1, keepdims=True)
    return s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))


LOSSES = {
    "stopped max": log_softmax_stopped,
    "scipy.special.logsumexp": log_softmax_logsumexp,
    "F.log_softmax": log_softmax_functional,
    "by hand: x - log(sum(exp(x - max)))": log_softmax_by_hand,
}

# -- the matrix product ------------------------------------------------------------------

PRODUCTS = {
    "@": lambda a, b: a @ b,
    "np.dot": np.dot,
    "np.matmul": np.matmul,
}

DEFAULT = {"relu": "F.relu", "loss": "stopped max", "product": "@"}


def variants(act: str) -> list[tuple[str, dict]]:
    """(label, spelling) for each row: one change at a time from the default, then the
    NumPy user's spelling of everything. W3 (tanh) has no ReLU to spell."""
    out = []
    if act == "relu":
        out += [(f"relu: {k}", {**DEFAULT, "relu": k}) for k in RELUS if k != DEFAULT["relu"]]
    out += [(f"loss: {k}", {**DEFAULT, "loss": k}) for k in LOSSES if k != DEFAULT["loss"]]
    out += [(f"product: {k}", {**DEFAULT, "product": k})
            for k in PRODUCTS if k != DEFAULT["product"]]
    numpy_user = {"relu": "np.maximum(h, 0.0)", "loss": "scipy.special.logsumexp",
                  "product": "np.dot"}
    label = ("NumPy spelling: np.dot, np.maximum, logsumexp" if act == "relu"
             else "NumPy spelling: np.dot, logsumexp")
    out.append((label, numpy_user))
    return out


def mlp_loss(spelling: dict, act: str, n_layers: int, batch: int):
    """The mean softmax cross-entropy of the MLP, written in ``spelling``."""
    activation = cnp.tanh if act == "tanh" else RELUS[spelling["relu"]]
    log_probs = LOSSES[spelling["loss"]]
    product = PRODUCTS[spelling["product"]]

    def loss(params, x, onehot):
        h = x
        for i in range(n_layers):
            h = product(h, params[2 * i]) + params[2 * i + 1]
            if i < n_layers - 1:
                h = activation(h)
        return -cnp.sum(onehot * log_probs(h)) / batch

    return loss
