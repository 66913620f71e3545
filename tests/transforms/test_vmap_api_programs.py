"""The programs of ``vmap_jax_programs_api`` with chainrule, against the same program with
``vmap`` replaced by a loop over the examples (stacked): this runs without JAX, which
``test_vmap_jax`` compares them with where it is installed."""

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from vmap_jax_programs import PROGRAMS  # (tests/transforms is on sys.path)
from vmap_jax_programs_api import API_PROGRAMS

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.scipy.special as csp
import chainrule.scipy.stats as cst
from chainrule.core.pytree import tree_flatten, tree_unflatten
from chainrule.nn import functional as F


def _example(a, axis, b):
    return a if axis is None else cnp.moveaxis(a, axis, 0)[b]


def looped_vmap(f, in_axes=0, out_axes=0, axis_size=None):
    """``vmap`` as a loop over the examples, its results stacked along ``out_axes`` (for
    ``in_axes``/``out_axes`` that are ints or None, per argument)."""

    def mapped(*args):
        axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        size = axis_size or next(np.shape(a)[ax] for a, ax in zip(args, axes, strict=True)
                                 if ax is not None)
        outs = [f(*(_example(a, ax, b) for a, ax in zip(args, axes, strict=True)))
                for b in range(size)]
        tree = tree_flatten(outs[0])[1]
        leaves = [tree_flatten(o)[0] for o in outs]
        return tree_unflatten(tree, [cnp.stack([lv[k] for lv in leaves], axis=out_axes)
                                     for k in range(len(leaves[0]))])

    return mapped


def namespace(vmap):
    return SimpleNamespace(np=cnp, vmap=vmap, grad=cr.grad, jacfwd=cr.jacfwd, jacrev=cr.jacrev,
                           special=csp, stats=cst, at=cr.at, nn=F)


@pytest.mark.parametrize("name", API_PROGRAMS)
def test_program_matches_a_loop(name):
    fn, make_args = PROGRAMS[name]
    args = make_args(np.random.default_rng(sum(map(ord, name))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = fn(namespace(cr.vmap), *args)
        want = fn(namespace(looped_vmap), *args)
    got_leaves, got_tree = tree_flatten(got)
    want_leaves, want_tree = tree_flatten(want)
    assert got_tree == want_tree
    for g, w in zip(got_leaves, want_leaves, strict=True):
        assert not isinstance(g, cr.Tensor)
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
