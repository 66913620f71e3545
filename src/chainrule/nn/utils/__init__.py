"""``chainrule.nn.utils``: gradient clipping and, in ``nn.utils.rnn``, batching of
variable-length sequences."""

from chainrule.nn.utils import rnn
from chainrule.nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_

__all__ = ["clip_grad_norm_", "clip_grad_value_", "rnn"]
