"""``torch.distributions.categorical``, for code that imports Categorical from there
(``from torch.distributions.categorical import Categorical``)."""

from chainrule.distributions.discrete import Categorical

__all__ = ["Categorical"]
