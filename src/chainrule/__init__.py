"""chainrule: exact derivatives of NumPy code by the chain rule.

>>> import chainrule as cr, chainrule.numpy as cnp
>>> float(cr.grad(lambda x: cnp.tanh(x) ** 2)(0.0))
0.0
"""

from chainrule.core.tensor import Tensor
from chainrule.core.eager import enable_grad, is_grad_enabled, no_grad, tensor
from chainrule.core.primitive import Primitive, defjvp, defvjp, primitive
from chainrule.core.pytree import (
    register_pytree_node,
    tree_flatten,
    tree_leaves,
    tree_map,
    tree_unflatten,
)
import chainrule.numpy as numpy
from chainrule.transforms.reverse import (
    elementwise_grad,
    grad,
    grad_and_aux,
    holomorphic_grad,
    make_vjp,
    tensor_jacobian_product,
    value_and_grad,
    vjp,
)
from chainrule.transforms.forward import deriv, jvp, linearize, make_jvp
from chainrule.transforms.gradcheck import GradcheckError, gradcheck
from chainrule.transforms.jacobian import (
    hessian,
    hessian_tensor_product,
    hessian_vector_product,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    make_ggnvp,
    make_hvp,
)
from chainrule.transforms.custom import checkpoint, custom_jvp, custom_vjp, stop_gradient

__version__ = "0.1.0"
