"""``torch.distributions.independent``, for code that imports Independent from there
(``from torch.distributions.independent import Independent``)."""

from chainrule.distributions.multivariate import Independent

__all__ = ["Independent"]
