"""``torch.distributions.ExponentialFamily``: the base of the families whose density is
``exp(<t(x), θ> - F(θ) + k(x))`` (Normal, Bernoulli, Beta, Gamma, Dirichlet, Wishart, ...).
A family gives its natural parameters θ (``_natural_params``), its log normalizer F
(``_log_normalizer``) and the expected carrier measure E[k(x)] (``_mean_carrier_measure``);
the base then has the entropy, and ``kl_divergence`` between two members of one family, as
Bregman divergences of F, differentiated by autograd as PyTorch's.

>>> import chainrule as cr
>>> from chainrule.distributions import Normal
>>> round(ExponentialFamily.entropy(Normal(cr.tensor(0.0), cr.tensor(2.0))).item(), 6)
2.112086
"""

from __future__ import annotations

from chainrule.core.eager_backward import grad
from chainrule.distributions.distribution import Distribution, as_tensor

__all__ = ["ExponentialFamily"]


def bregman_terms(log_normalizer, natural_params):
    """``(F(θ), [θᵢ], [∂F/∂θᵢ])`` at θ = ``natural_params`` detached, as PyTorch's: the
    gradients stay on the graph (``create_graph``)."""
    thetas = [as_tensor(t).detach().requires_grad_() for t in natural_params]
    value = log_normalizer(*thetas)
    return value, thetas, list(grad(value.sum(), thetas, create_graph=True))


class ExponentialFamily(Distribution):
    """The abstract base of the exponential families: subclasses give ``_natural_params``,
    ``_log_normalizer(*natural_params)`` and ``_mean_carrier_measure``."""

    @property
    def _natural_params(self) -> tuple:
        """The natural parameters θ, a tuple of Tensors."""
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        """The log normalizer F(θ), batched as the distribution."""
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        """E[k(x)], the expected carrier measure."""
        raise NotImplementedError

    def entropy(self):
        """H = F(θ) - <θ, ∇F(θ)> - E[k(x)] (the Bregman form), by autograd."""
        value, thetas, grads = bregman_terms(self._log_normalizer, self._natural_params)
        result = value - self._mean_carrier_measure
        for theta, g in zip(thetas, grads, strict=True):
            result = result - (theta * g).reshape(tuple(self._batch_shape) + (-1,)).sum(-1)
        return result
