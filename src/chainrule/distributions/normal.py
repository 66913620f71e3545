"""``torch.distributions.normal``, for code that imports Normal from there
(``from torch.distributions.normal import Normal``)."""

from chainrule.distributions.continuous import Normal

__all__ = ["Normal"]
