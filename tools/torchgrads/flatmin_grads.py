"""Per-sample gradients, residuals and the Gram matrix of a PyTorch model, for flatmin.

`flatmin measure` and `flatmin stability` read, at one point θ of a model with
one output per sample trained on the square loss:

  Q  (n, p)  row i is g_i = ∇_θ f(x_i; θ), the gradient of the model's OUTPUT
             on sample i (not of the loss, whose gradient is e_i g_i);
  e  (n,)    the residuals e_i = f(x_i; θ) - y_i;
  K  (n, n)  or, instead of Q, the Gram K = Q Qᵀ (flatmin's --gram, where
             available), which is all flatmin needs of Q.

This file computes them from a model and a data loader with torch and numpy
only, on whatever device the model is on:

    import flatmin_grads as fg
    fg.write_grads(model, loader, "grads.npy", "residuals.npy")     # Q and e
    fg.write_gram(model, loader, "gram.npy", "residuals.npy")       # K and e, without holding Q
    print(" ".join(fg.flatmin_args(lr, batch_size, "mse-mean")))     # --lr ... --batch ... --loss mse-mean

What it takes care of:
  * only trainable parameters count (requires_grad False are skipped); the
    columns of Q are the trainable parameters in model.named_parameters()
    order, each flattened (torch.nn.utils.parameters_to_vector's order);
  * a parameter the output does not depend on gets zero columns, not a crash
    (the loop recipe uses torch.autograd.grad(..., allow_unused=True));
  * targets of shape (b, 1) and outputs of shape (b, 1) are both read as (b,):
    `out - y` with out (b, 1) and y (b,) would broadcast to (b, b);
  * memory is bounded: per-sample gradients are taken chunk_size samples at a
    time (torch.func.vmap's chunk_size on torch >= 2.0, chunks by hand with
    functorch, which is what torch 1.13, Debian's, has), Q is written to disk
    a batch at a time, and the Gram is accumulated over parameter shards of at
    most max_bytes, K = Σ_s Q_s Q_sᵀ, in float64;
  * the model is put in eval mode while it is measured (no dropout, BatchNorm
    on its running statistics) and put back as it was.

The loader (a DataLoader, or any list or re-iterable of batches) yields
(x, y) batches in a fixed order (a shuffling loader is refused: Q's rows, e and every pass of the Gram must see the samples in the
same order).

The learning rate: the paper's loss is Σ e_i²/(2n). PyTorch's
MSELoss(reduction='mean') is the mean of e_i², whose SGD step at lr is the
paper's at η = 2·lr; reduction='sum' over batches of B is the paper's at
η = 2·B·lr. Pass flatmin the lr you trained with and --loss (paper_eta and
flatmin_args below); with the wrong one every bound is off by 2 or 2B.

Tested by test_flatmin_grads.py (python3 -m unittest, from this directory).
"""

import numpy as np
import torch

__all__ = [
    "LOSSES", "paper_eta", "flatmin_args", "trainable_parameters", "outputs", "residuals",
    "per_sample_grads", "write_grads", "gram", "write_gram",
]

# The losses flatmin's --loss names, and η in terms of the learning rate lr
# and the batch size B (plain SGD: no momentum, no weight decay).
LOSSES = {
    "paper": lambda lr, b: lr,             # Σ e_i²/(2n): the paper's own
    "mse-mean": lambda lr, b: 2 * lr,      # torch.nn.MSELoss() / reduction='mean'
    "mse-sum": lambda lr, b: 2 * b * lr,   # torch.nn.MSELoss(reduction='sum')
}


def paper_eta(lr, loss, batch_size):
    """The paper's η for a learning rate lr used with loss on batches of batch_size.

    The paper's SGD step is θ ← θ - (η/B) Σ_{i∈batch} e_i g_i (the gradient of
    e_i²/2 is e_i g_i). MSELoss(reduction='mean') = (1/B) Σ e_i² has gradient
    (2/B) Σ e_i g_i, so its step at lr is the paper's at η = 2·lr;
    reduction='sum' = Σ e_i² has gradient 2 Σ e_i g_i: η = 2·B·lr.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    return LOSSES[loss](lr, batch_size)


def flatmin_args(lr, batch_size, loss):
    """The flags that tell flatmin the learning rate, the batch size and the loss."""
    paper_eta(lr, loss, batch_size)  # checks loss
    return ["--lr", repr(float(lr)), "--batch", str(int(batch_size)), "--loss", loss]


def trainable_parameters(model):
    """[(name, parameter)] of the parameters with requires_grad, in named_parameters() order."""
    return [(name, p) for name, p in model.named_parameters() if p.requires_grad]


class _EvalMode:
    """Puts a model in eval mode for a block and restores its modes after."""

    def __init__(self, model):
        self.model = model

    def __enter__(self):
        self.modes = [m.training for m in self.model.modules()]
        self.model.eval()

    def __exit__(self, *exc):
        for m, mode in zip(self.model.modules(), self.modes):
            m.training = mode


def _device(model):
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


def _as_vector(t, b, what):
    """t of shape (b,) or (b, 1) as (b,); anything else is an error."""
    if t.numel() != b or (t.dim() == 2 and t.shape[1] != 1) or t.dim() > 2 or t.dim() == 0:
        raise ValueError(f"{what} has shape {tuple(t.shape)} for a batch of {b}: want ({b},) or ({b}, 1), "
                         "one scalar per sample (flatmin's quantities are for models with one output)")
    return t.reshape(b)


def outputs(model, x):
    """The outputs f(x_i; θ) of a batch x, shape (b,), without building a graph."""
    with torch.no_grad(), _EvalMode(model):
        return _as_vector(model(x), x.shape[0], "the model's output")


def residuals(model, x, y):
    """e_i = f(x_i; θ) - y_i in float64, shape (b,); y may be (b,) or (b, 1)."""
    b = x.shape[0]
    return outputs(model, x).double() - _as_vector(torch.as_tensor(y, device=x.device), b, "the targets").double()


def _backend(method):
    """The per-sample gradient backend for method: 'torch.func', 'functorch' or 'loop'."""
    if method == "auto":
        if hasattr(torch, "func") and hasattr(torch.func, "vmap"):
            return "torch.func"
        try:
            import functorch  # noqa: F401  (torch 1.13)
            return "functorch"
        except ImportError:
            return "loop"
    if method == "vmap":
        return "torch.func" if hasattr(torch, "func") and hasattr(torch.func, "vmap") else "functorch"
    if method in ("torch.func", "functorch", "loop"):
        return method
    raise ValueError(f"method must be auto, vmap, torch.func, functorch or loop, got {method!r}")


def _grads_loop(model, x, names):
    """Per-sample gradients by autograd, one sample at a time."""
    params = dict(model.named_parameters())
    sel = [params[k] for k in names]
    rows = []
    for i in range(x.shape[0]):
        out = _as_vector(model(x[i:i + 1]), 1, "the model's output")[0]
        if out.requires_grad:
            gs = torch.autograd.grad(out, sel, allow_unused=True)
        else:  # the output depends on no trainable parameter
            gs = [None] * len(sel)
        rows.append(torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for p, g in zip(sel, gs)]))
    return torch.stack(rows)


def _grads_vmap(model, x, names, chunk_size, backend):
    """Per-sample gradients by vmap over grad of the functional model."""
    if backend == "torch.func":
        from torch.func import functional_call, grad, vmap
    else:
        from functorch import grad, vmap
        from torch.nn.utils.stateless import functional_call
    params = {k: v.detach() for k, v in model.named_parameters()}
    sel = {k: params[k] for k in names}
    const = {k: v for k, v in params.items() if k not in sel}
    const.update({k: v.detach() for k, v in model.named_buffers()})

    def f(sel, xi):
        return functional_call(model, {**const, **sel}, (xi.unsqueeze(0),)).reshape(())

    g = grad(f)
    b = x.shape[0]
    if backend == "torch.func":
        blocks = [vmap(g, in_dims=(None, 0), chunk_size=chunk_size)(sel, x)]
    else:  # functorch's vmap has no chunk_size: chunks by hand
        blocks = [vmap(g, in_dims=(None, 0))(sel, x[s:s + chunk_size]) for s in range(0, b, chunk_size)]
    return torch.cat([torch.cat([d[k].reshape(d[k].shape[0], -1) for k in names], dim=1) for d in blocks], dim=0)


def per_sample_grads(model, x, method="auto", chunk_size=32, names=None):
    """Q for a batch x: row i the gradient of f(x_i; θ), shape (b, p).

    names: the trainable parameters to differentiate (default all of them,
    trainable_parameters order). method: 'auto' (torch.func on torch >= 2.0,
    else functorch, else the loop), 'vmap', 'torch.func', 'functorch' or
    'loop'; chunk_size bounds how many samples the vmap methods take at once.
    """
    if names is None:
        names = [k for k, _ in trainable_parameters(model)]
    if not names:
        raise ValueError("the model has no trainable parameters (every requires_grad is False)")
    _as_vector(outputs(model, x[:1]), 1, "the model's output")
    backend = _backend(method)
    with _EvalMode(model):
        if backend == "loop":
            return _grads_loop(model, x, names)
        return _grads_vmap(model, x, names, chunk_size, backend)


def _batches(model, loader):
    """(x, y) batches of loader on the model's device, after checking the loader's order is fixed."""
    sampler = getattr(loader, "sampler", None)
    if isinstance(sampler, torch.utils.data.RandomSampler):
        raise ValueError("the loader shuffles (shuffle=True): use a loader with a fixed order, "
                         "so that Q's rows, e and every pass over the data see the samples in the same order")
    dev = _device(model)
    for batch in loader:
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise ValueError("the loader must yield (x, y) batches")
        x, y = batch
        yield x.to(dev), torch.as_tensor(y).to(dev)


def _count(loader):
    """The number of samples the loader yields, without running the model."""
    ds = getattr(loader, "dataset", None)
    if ds is not None and hasattr(ds, "__len__") and not getattr(loader, "drop_last", False):
        return len(ds)
    return sum(x.shape[0] for x, _ in loader)


def write_grads(model, loader, grads_path, residuals_path=None, method="auto", chunk_size=32, dtype=None):
    """Writes Q (n, p) to grads_path (.npy, a batch at a time) and e (n,) to residuals_path.

    dtype: of the file, float64 or float32 (flatmin reads both); by default
    that of the parameters, float32 for anything narrower. Memory: one batch
    of Q (batch size x p) and the chunk_size samples vmap works on; Q itself
    goes to disk through a memory map. Returns (n, p).
    """
    params = trainable_parameters(model)
    if dtype is None:
        dtype = np.float64 if params and params[0][1].dtype == torch.float64 else np.float32
    n = _count(loader)
    p = sum(q.numel() for _, q in params)
    q_out = np.lib.format.open_memmap(grads_path, mode="w+", dtype=dtype, shape=(n, p))
    e_out = np.empty(n)
    row = 0
    for x, y in _batches(model, loader):
        b = x.shape[0]
        if row + b > n:
            raise ValueError(f"the loader yielded more than the {n} samples its dataset has")
        q_out[row:row + b] = per_sample_grads(model, x, method, chunk_size).cpu().numpy()
        e_out[row:row + b] = residuals(model, x, y).cpu().numpy()
        row += b
    if row != n:
        raise ValueError(f"the loader yielded {row} samples, its dataset has {n}")
    q_out.flush()
    del q_out
    if residuals_path is not None:
        np.save(residuals_path, e_out)
    return n, p


def _shards(params, budget):
    """Splits the flattened trainable parameters into shards of at most budget entries: lists of (name, start, stop)."""
    shards, cur, used = [], [], 0
    for name, p in params:
        size, start = p.numel(), 0
        while start < size:
            take = min(size - start, budget - used)
            cur.append((name, start, start + take))
            used += take
            start += take
            if used == budget:
                shards.append(cur)
                cur, used = [], 0
    if cur:
        shards.append(cur)
    return shards


def gram(model, loader, method="auto", chunk_size=32, max_bytes=1 << 30):
    """K = Q Qᵀ (n, n, float64) and e (n,), without holding Q.

    The trainable parameters are cut into shards of at most
    max_bytes / (8 n) entries (a tensor may be cut); for each shard one pass
    over the loader takes the per-sample gradients of the tensors it touches
    and keeps the shard's columns Q_s (n x p_s, float64), and K += Q_s Q_sᵀ.
    So memory is max_bytes plus one batch of gradients of the touched
    tensors, at the price of one forward and backward pass per shard. Shards
    are a sum, so they can as well live on different devices or processes
    (an all-reduce of the per-shard Grams). K is symmetrized, (K + Kᵀ)/2,
    which is exactly symmetric in floating point.
    """
    params = trainable_parameters(model)
    if not params:
        raise ValueError("the model has no trainable parameters (every requires_grad is False)")
    n = _count(loader)
    budget = max(1, max_bytes // (8 * max(n, 1)))
    sizes = {k: p.numel() for k, p in params}
    dev = _device(model)
    k = torch.zeros((n, n), dtype=torch.float64, device=dev)
    e = None
    for shard in _shards(params, budget):
        touched = [name for name, _ in params if any(s[0] == name for s in shard)]
        offset, at = {}, 0
        for name in touched:
            offset[name] = at
            at += sizes[name]
        cols, es = [], []
        for x, y in _batches(model, loader):
            g = per_sample_grads(model, x, method, chunk_size, names=touched)
            cols.append(torch.cat([g[:, offset[nm] + a:offset[nm] + b] for nm, a, b in shard], dim=1).double())
            if e is None:
                es.append(residuals(model, x, y))
        q_s = torch.cat(cols, dim=0)
        if q_s.shape[0] != n:
            raise ValueError(f"the loader yielded {q_s.shape[0]} samples, its dataset has {n}")
        k += q_s @ q_s.T
        if e is None:
            e = torch.cat(es)
    k = (k + k.T) / 2
    return k.cpu().numpy(), e.cpu().numpy()


def write_gram(model, loader, gram_path, residuals_path=None, method="auto", chunk_size=32, max_bytes=1 << 30):
    """Writes K = Q Qᵀ (float64, n x n) to gram_path and e to residuals_path; returns n."""
    k, e = gram(model, loader, method, chunk_size, max_bytes)
    np.save(gram_path, k)
    if residuals_path is not None:
        np.save(residuals_path, e)
    return k.shape[0]
