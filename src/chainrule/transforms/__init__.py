"""The functional transforms: grad, vjp, jvp, jacobian, hessian, checkpoint, ..."""
