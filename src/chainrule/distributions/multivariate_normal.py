"""``torch.distributions.multivariate_normal``, for code that imports MultivariateNormal from there
(``from torch.distributions.multivariate_normal import MultivariateNormal``)."""

from chainrule.distributions.multivariate import MultivariateNormal

__all__ = ["MultivariateNormal"]
