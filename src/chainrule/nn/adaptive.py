"""``AdaptiveLogSoftmaxWithLoss``, PyTorch's adaptive softmax (Grave et al., 2017) for
large vocabularies: a head ``Linear`` scores the ``cutoffs[0]`` frequent classes and one
entry per cluster of the rarer ones, and each cluster has a smaller two-layer ``tail``
(hidden size in_features // div_value^(i+1)), evaluated only on the rows whose target is
in it. Parameters, names and forward values as PyTorch's, so state dicts move either way.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import undifferentiated
from chainrule.core.values import plain
from chainrule.nn import functional as F
from chainrule.nn.containers import ModuleList, Sequential
from chainrule.nn.layers import Linear
from chainrule.nn.module import Module
from chainrule.numpy.shape.updates import at

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """``forward(input (N, in_features), target (N,))`` returns ``(output, loss)``: each
    row's log-probability of its target and their negated mean; ``log_prob(input)`` the
    full (N, n_classes) log-probabilities, ``predict(input)`` their argmax.

    >>> import numpy as np
    >>> asm = AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0)
    >>> out, loss = asm(np.ones((4, 8), np.float32), np.array([0, 4, 7, 9]))
    >>> out.shape, asm.log_prob(np.ones((4, 8), np.float32)).shape
    (torch.Size([4]), torch.Size([4, 10]))
    """

    def __init__(self, in_features: int, n_classes: int, cutoffs, div_value: float = 4.0, head_bias: bool = False,
                 device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted in an increasing "
                             "order, where each value is between 1 and n_classes-1")
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, device=device, dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(in_features // (div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hsz, bias=False, device=device, dtype=dtype),
                                        Linear(hsz, osz, bias=False, device=device, dtype=dtype)))

    def reset_parameters(self) -> None:
        """The head's and every tail projection's parameters afresh (PyTorch's)."""
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input_, target_):
        target_np = np.asarray(plain(undifferentiated(target_))).astype(np.int64)
        if target_np.ndim == 1:
            if input_.shape[0] != target_np.shape[0]:
                raise RuntimeError("Input and target should have the same size in the batch dimension.")
            if input_.ndim != 2:
                raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with size "
                                   f"{tuple(input_.shape)}")
        elif target_np.ndim == 0:
            if input_.ndim != 1:
                raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with size "
                                   f"{tuple(input_.shape)}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        batched = target_np.ndim > 0
        x = input_ if batched else cnp.reshape(input_, (1, -1))
        target = target_np.reshape(-1)
        n = target.shape[0]
        if n and (target.min() < 0 or target.max() > self.n_classes - 1):
            raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but values in range "
                               f"[{target.min()}, {target.max()}] were found. ")
        head_logprob = F.log_softmax(self.head(x), dim=1)
        gather = np.where(target < self.shortlist_size, target, 0)
        output = None
        for i, (low, high) in enumerate(zip(self.cutoffs, self.cutoffs[1:], strict=False)):
            rows = np.nonzero((target >= low) & (target < high))[0]
            if rows.size == 0:
                continue
            gather[rows] = self.shortlist_size + i
            cluster = F.log_softmax(self.tail[i](x[rows]), dim=1)
            local = cnp.take_along_axis(cluster, (target[rows] - low)[:, None], axis=1)[:, 0]
            zeros = cnp.zeros((n,), dtype=local.dtype)
            part = at(zeros)[rows].add(local)
            output = part if output is None else output + part
        head = cnp.take_along_axis(head_logprob, gather[:, None], axis=1)[:, 0]
        output = head if output is None else output + head
        loss = cnp.mean(-output)
        return _ASMoutput(output if batched else cnp.reshape(output, ()), loss)

    def _full_log_prob(self, x, head_output):
        head_logprob = F.log_softmax(head_output, dim=1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster = F.log_softmax(self.tail[i](x), dim=1)
            parts.append(cluster + head_logprob[:, self.shortlist_size + i:self.shortlist_size + i + 1])
        return cnp.concatenate(parts, axis=1)

    def log_prob(self, input):
        """The log-probabilities of every class, (N, n_classes) (or (n_classes,))."""
        batched = input.ndim > 1
        x = input if batched else cnp.reshape(input, (1, -1))
        out = self._full_log_prob(x, self.head(x))
        return out if batched else out[0]

    def predict(self, input):
        """The most probable class of each row."""
        batched = input.ndim > 1
        x = input if batched else cnp.reshape(input, (1, -1))
        out = cnp.argmax(self._full_log_prob(x, self.head(x)), axis=1)
        return out if batched else out[0]
