"""Tests of flatmin_grads.py: python3 -m unittest -v test_flatmin_grads (from this directory).

Needs torch and numpy (Debian: apt-get install python3-torch python3-numpy).
With FLATMIN_OUT set to a directory, test_write leaves its files there
(grads.npy, grads_f32.npy, gram.npy, residuals.npy): cmd/flatmin's
TestPyTorchHelper runs this file and then `flatmin measure` on them.

Tolerances. The model is float64 (u = 2^-53 ≈ 1.1e-16). Per-sample gradients
by the loop and by vmap are the same products in possibly another order: each
entry is a chain of a few products and sums of at most 6 terms, so they agree
to a few tens of u relative to the largest entry; 1e-12 of it leaves a factor
of ten. K from parameter shards and Q Qᵀ each sum p = 44 products in some
order: |K_ij - (QQᵀ)_ij| <= 2·p·u·Σ_k |q_ik q_jk| <= 2·p·u·‖q_i‖‖q_j‖
(Cauchy-Schwarz), plus u|K_ij| for the symmetrization; the test allows twice
that. An SGD step and -(η/B) Qᵀe are sums of B = 5 products of
float64 numbers each: 1e-12 relative to the step is far above their rounding
and far below the factor 2 (or 2B) a wrong η makes.
"""

import os
import tempfile
import unittest

import numpy as np
import torch
from torch import nn

import flatmin_grads as fg

U = 2.0 ** -53


class Net(nn.Module):
    """One output per sample; a frozen first layer, a buffer, and a parameter the output does not use."""

    def __init__(self):
        super().__init__()
        self.frozen = nn.Linear(4, 6)
        self.hidden = nn.Linear(6, 5)
        self.out = nn.Linear(5, 1)
        self.unused = nn.Parameter(torch.randn(3))
        self.register_buffer("shift", torch.randn(4))
        for p in self.frozen.parameters():
            p.requires_grad_(False)

    def forward(self, x):
        h = torch.tanh(self.frozen(x + self.shift))
        return self.out(torch.tanh(self.hidden(h)))  # (b, 1)


def setup(seed=0, n=12, batch_size=5):
    torch.manual_seed(seed)
    model = Net().double()
    x = torch.randn(n, 4, dtype=torch.float64)
    y = torch.randn(n, 1, dtype=torch.float64)  # targets (n, 1), as with MSELoss on (n, 1) outputs
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch_size)
    return model, x, y, loader


# The trainable parameters of Net: unused (3), hidden (6·5 + 5), out (5 + 1).
P = 6 * 5 + 5 + 5 + 1 + 3


class TestFlatminGrads(unittest.TestCase):

    def test_frozen_parameters_skipped(self):
        model, x, _, _ = setup()
        names = [k for k, _ in fg.trainable_parameters(model)]
        # named_parameters() lists a module's own parameters before its children's.
        self.assertEqual(names, ["unused", "hidden.weight", "hidden.bias", "out.weight", "out.bias"])
        self.assertEqual(fg.per_sample_grads(model, x, method="loop").shape, (12, P))

    def test_vmap_equals_loop(self):
        """The vmap path (torch.func or functorch, chunks of 3 < the batch) gives the loop's Q; unused columns are 0."""
        model, x, _, _ = setup()
        loop = fg.per_sample_grads(model, x, method="loop")
        for method in ("vmap", "auto"):
            with self.subTest(method=method, backend=fg._backend(method)):
                vm = fg.per_sample_grads(model, x, method=method, chunk_size=3)
                self.assertLessEqual(float((vm - loop).abs().max()), 1e-12 * float(loop.abs().max()))
        self.assertTrue(bool((loop[:, :3] == 0).all()), "the unused parameter's columns are not zero")
        self.assertTrue(bool((loop[:, 3:] != 0).all()))

    def test_loop_survives_grad_none(self):
        """The loop recipe with .grad None (the unused parameter) and with no trainable parameter reached."""
        model, x, _, _ = setup()
        for p in list(model.hidden.parameters()) + list(model.out.parameters()):
            p.requires_grad_(False)
        q = fg.per_sample_grads(model, x, method="loop")
        self.assertEqual(q.shape, (12, 3))
        self.assertTrue(bool((q == 0).all()))

    def test_gradient_is_of_the_output(self):
        """Row i is ∇f(x_i): a finite difference of the output along a direction v is Q v."""
        model, x, _, _ = setup()
        q = fg.per_sample_grads(model, x)
        v = torch.randn(P, dtype=torch.float64)
        h = 1e-6
        params = [p for _, p in fg.trainable_parameters(model)]
        theta = torch.nn.utils.parameters_to_vector(params).detach()
        torch.nn.utils.vector_to_parameters(theta + h * v, params)
        up = fg.outputs(model, x)
        torch.nn.utils.vector_to_parameters(theta - h * v, params)
        down = fg.outputs(model, x)
        torch.nn.utils.vector_to_parameters(theta, params)
        # Central differences: error O(h²·f''') ≈ 1e-12 plus rounding u·|f|/h ≈ 1e-10.
        self.assertLess(float(((up - down) / (2 * h) - q @ v).abs().max()), 1e-8)

    def test_residuals_shape(self):
        """Targets (n, 1) and (n,) give the same e of shape (n,), not an (n, n) broadcast."""
        model, x, y, _ = setup()
        e = fg.residuals(model, x, y)
        self.assertEqual(tuple(e.shape), (12,))
        self.assertTrue(torch.equal(e, fg.residuals(model, x, y.reshape(-1))))
        with torch.no_grad():
            self.assertTrue(torch.equal(e, model(x).reshape(-1) - y.reshape(-1)))

    def test_refusals(self):
        model, x, y, _ = setup()
        with self.assertRaisesRegex(ValueError, "one output"):
            fg.per_sample_grads(nn.Linear(4, 2).double(), x)
        with self.assertRaisesRegex(ValueError, "the targets"):
            fg.residuals(model, x, torch.randn(12, 2, dtype=torch.float64))
        shuffled = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=5, shuffle=True)
        with self.assertRaisesRegex(ValueError, "shuffles"):
            fg.gram(model, shuffled)
        with self.assertRaisesRegex(ValueError, "loss must be one of"):
            fg.paper_eta(0.1, "mse", 4)

    def test_eval_mode_restored(self):
        model, x, _, _ = setup()
        model.train()
        fg.per_sample_grads(model, x)
        self.assertTrue(all(m.training for m in model.modules()))

    def test_gram_equals_qqt(self):
        """K from shards of at most 7 entries (every tensor cut) equals Q Qᵀ; exactly symmetric; e as residuals."""
        model, x, y, loader = setup()
        q = fg.per_sample_grads(model, x).numpy()
        k, e = fg.gram(model, loader, method="loop", max_bytes=8 * 12 * 7)
        self.assertEqual(len(fg._shards(fg.trainable_parameters(model), 7)), -(-P // 7))
        norms = np.linalg.norm(q, axis=1)
        bound = 2 * (2 * P * U * np.outer(norms, norms) + U * np.abs(q @ q.T))
        self.assertTrue(np.all(np.abs(k - q @ q.T) <= bound), np.max(np.abs(k - q @ q.T) / bound))
        self.assertTrue(np.array_equal(k, k.T))
        self.assertTrue(np.array_equal(e, fg.residuals(model, x, y).numpy()))
        k2, _ = fg.gram(model, loader)  # one shard, vmap
        self.assertTrue(np.all(np.abs(k2 - q @ q.T) <= bound))

    def test_write(self):
        """The files flatmin reads: Q (float64 and float32), K, e."""
        out = os.environ.get("FLATMIN_OUT")
        tmp = None
        if not out:
            tmp = tempfile.TemporaryDirectory()
            out = tmp.name
        try:
            model, x, y, loader = setup()
            path = lambda name: os.path.join(out, name)
            self.assertEqual(fg.write_grads(model, loader, path("grads.npy"), path("residuals.npy")), (12, P))
            fg.write_grads(model, loader, path("grads_f32.npy"), dtype=np.float32, method="loop")
            self.assertEqual(fg.write_gram(model, loader, path("gram.npy"), max_bytes=8 * 12 * 10), 12)
            q, q32, k, e = (np.load(path(f)) for f in ("grads.npy", "grads_f32.npy", "gram.npy", "residuals.npy"))
            self.assertEqual((q.dtype, q.shape, q32.dtype, k.shape, e.shape),
                             (np.float64, (12, P), np.float32, (12, 12), (12,)))
            self.assertTrue(np.array_equal(q, fg.per_sample_grads(model, x).numpy()))
            self.assertTrue(np.array_equal(q32, q.astype(np.float32)))  # the same Q, rounded once
            self.assertTrue(np.array_equal(e, fg.residuals(model, x, y).numpy()))
        finally:
            if tmp:
                tmp.cleanup()

    def test_sgd_step_is_the_papers_at_paper_eta(self):
        """One torch.optim.SGD step with MSELoss at lr moves θ by -(η/B) Σ e_i g_i with η = paper_eta(lr)."""
        for reduction, loss in (("mean", "mse-mean"), ("sum", "mse-sum")):
            with self.subTest(reduction=reduction):
                model, x, y, _ = setup(seed=1)
                xb, yb, lr = x[:5], y[:5], 0.01
                b = xb.shape[0]
                params = [p for _, p in fg.trainable_parameters(model)]
                theta = torch.nn.utils.parameters_to_vector(params).detach().clone()
                q, e = fg.per_sample_grads(model, xb), fg.residuals(model, xb, yb)
                opt = torch.optim.SGD(params, lr=lr)
                opt.zero_grad()
                nn.MSELoss(reduction=reduction)(model(xb), yb).backward()
                opt.step()
                step = torch.nn.utils.parameters_to_vector(params).detach() - theta
                paper = lambda eta: -(eta / b) * (q.T @ e)
                err = lambda eta: float((step - paper(eta)).abs().max() / step.abs().max())
                self.assertLess(err(fg.paper_eta(lr, loss, b)), 1e-12)
                self.assertGreater(err(lr), 0.4)  # the unconverted lr: off by 2 or 2B

    def test_flatmin_args(self):
        self.assertEqual(fg.flatmin_args(0.05, 32, "mse-mean"), ["--lr", "0.05", "--batch", "32", "--loss", "mse-mean"])
        self.assertEqual((fg.paper_eta(0.05, "paper", 32), fg.paper_eta(0.05, "mse-mean", 32), fg.paper_eta(0.05, "mse-sum", 32)),
                         (0.05, 0.1, 3.2))


if __name__ == "__main__":
    unittest.main()
