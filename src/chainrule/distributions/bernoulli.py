"""``torch.distributions.bernoulli``, for code that imports Bernoulli from there
(``from torch.distributions.bernoulli import Bernoulli``)."""

from chainrule.distributions.discrete import Bernoulli

__all__ = ["Bernoulli"]
