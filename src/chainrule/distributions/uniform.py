"""``torch.distributions.uniform``, for code that imports Uniform from there
(``from torch.distributions.uniform import Uniform``)."""

from chainrule.distributions.continuous import Uniform

__all__ = ["Uniform"]
