"""HIPS autograd's ``numpy_boxes``: ``ArrayBox`` is chainrule's :class:`Tensor`.

autograd wraps an array being differentiated in an ``ArrayBox``; chainrule wraps it in
a ``Tensor``. Code that asks ``isinstance(x, ArrayBox)`` (to unbox with ``x._value``)
works unchanged.

>>> import chainrule as cr
>>> from chainrule.numpy.numpy_boxes import ArrayBox
>>> cr.grad(lambda x: float(isinstance(x, ArrayBox)) * x)(2.0)
np.float64(1.0)
"""

from chainrule.core.tensor import Tensor

__all__ = ["ArrayBox"]

ArrayBox = Tensor
