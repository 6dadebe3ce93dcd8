#!/usr/bin/python3
"""Writes the .npy/.csv inputs of TestMeasureAgainstNumPy and the values
`flatmin measure` must print for them, computed independently in NumPy the
naive p x p way (G = QᵀQ/n, Σ1, Σ2, Σ = Σ1 - Σ2; Section 2 of the paper).

Run from this directory with Debian's NumPy (apt-get install python3-numpy):

    /usr/bin/python3 make_npy.py

The outputs are committed; the Go tests do not need Python.

Files written:
  q.npy          Q, float64, C order, shape (20, 50)
  q_f32.npy      the same Q as float32 (Q's entries are float32-exact)
  q_fortran.npy  the same Q, float64, Fortran order
  q_be.npy       the same Q, big-endian float64
  q.csv          the same Q as CSV with a header line (%.17g round-trips)
  e.npy          residuals, float64, 1-D, shape (20,)
  e_col.npy      the same residuals, shape (20, 1)
  K.npy          NumPy's Gram q @ q.T, float64, shape (20, 20)
  K_f32.npy      a Gram summed in float32 as a GPU would: its upper triangle
                 summed over the columns in order, its lower in reverse
                 order, so slightly asymmetric (flatmin measure --gram)
  qe.npz         Q and e as numpy.savez(Q=, e=) writes them (stored)
  qe_compressed.npz  Q in Fortran order and e, numpy.savez_compressed (deflated)
  expected.json  {"args": [...], "values": {key: value}} for
                 flatmin measure --grads q.npy --residuals e.npy --lr ETA --batch B --json
"""
import json

import numpy as np

N, P = 20, 50
ETA, BATCH = 0.05, 4

rng = np.random.default_rng(20220527)
# A Gaussian 20 x 50 matrix is well conditioned: σ_max/σ_min is near
# (√50 + √20)/(√50 - √20) ≈ 4.4. Rounding to float32 first makes Q exactly
# representable in both dtypes, so every file holds the same matrix.
q = rng.standard_normal((N, P)).astype(np.float32).astype(np.float64)
e = rng.standard_normal(N)

np.save("q.npy", q)
np.save("q_f32.npy", q.astype(np.float32))
np.save("q_fortran.npy", np.asfortranarray(q))
np.save("q_be.npy", q.astype(">f8"))
np.savetxt("q.csv", q, delimiter=",", fmt="%.17g",
           header=",".join(f"g{j}" for j in range(P)), comments="")
np.save("e.npy", e)
np.save("e_col.npy", e.reshape(N, 1))
np.save("K.npy", q @ q.T)
q32 = q.astype(np.float32)
up = q32 @ q32.T
low = q32[:, ::-1] @ q32[:, ::-1].T
np.save("K_f32.npy", (np.triu(up) + np.tril(low, -1)).astype(np.float32))
np.savez("qe.npz", Q=q, e=e)
np.savez_compressed("qe_compressed.npz", Q=np.asfortranarray(q), e=e)

assert not np.load("q_fortran.npy").flags["C_CONTIGUOUS"]
assert np.load("q_be.npy").dtype.byteorder == ">"

# The naive p x p quantities.
G = q.T @ q / N
grad = q.T @ e / N                    # ∇L = (1/n) Σ e_i g_i
S1 = (q.T * e**2) @ q / N             # Σ1 = (1/n) Σ e_i² g_i g_iᵀ
S2 = np.outer(grad, grad)             # Σ2 = ∇L ∇Lᵀ
S = S1 - S2                           # Σ
loss = float(e @ e / (2 * N))
fro_G = float(np.linalg.norm(G, "fro"))
fro_S = float(np.linalg.norm(S, "fro"))
tr_GS = float(np.trace(G @ S))
tr_S1G = float(np.trace(S1 @ G))
tr_S2G = float(np.trace(S2 @ G))
lam = float(np.linalg.eigvalsh(G)[-1])
chi = np.einsum("ij,jk,ik->i", q, G, q)  # χ_i = g_iᵀ G g_i
rank = int(np.linalg.matrix_rank(q))

# The misprinted eq. (11), ‖P E K E‖_F/n, has no p x p form: n x n here,
# with P and E as explicit matrices.
K = q @ q.T
E = np.diag(e)
Pc = np.eye(N) - np.ones((N, N)) / N
printed = float(np.linalg.norm(Pc @ E @ K @ E, "fro") / N)

# Conditioning of the comparison (see TestMeasureAgainstNumPy): the
# differences Σ1 - Σ2 and P(...) must not cancel much.
cancel = max(np.linalg.norm(S1, "fro") / fro_S, tr_S1G / tr_GS)
assert cancel < 4, cancel
assert rank == N

# μ0 = inf_θ μ(θ) and μ1_0 = inf_θ μ1(θ) for the linearized model at these
# features (e = Qθ): Tr(Σ(θ)G) = θᵀAθ with A = (1/n) Σ χ_i g_i g_iᵀ - H³ and
# 2L = θᵀHθ, so μ0 is the smallest eigenvalue of Hr^{-1/2} Ar Hr^{-1/2} on
# range(H) (Ar, Hr in an eigenbasis of it), over ‖G‖_F²; μ1_0 the same
# without -H³.
lamH, V = np.linalg.eigh(G)
keep = lamH > lamH[-1] * P * np.finfo(float).eps
Vr, hr = V[:, keep], lamH[keep]
A1 = (q.T * chi) @ q / N
A = A1 - G @ G @ G
def inf_ratio(M):
    Mr = Vr.T @ M @ Vr / np.sqrt(np.outer(hr, hr))
    w = np.linalg.eigvalsh((Mr + Mr.T) / 2)
    return float(w[0] / fro_G**2), float(np.abs(w).max() / abs(w[0]))
mu0, cond_mu0 = inf_ratio(A)
mu10, cond_mu10 = inf_ratio(A1)
# The smallest eigenvalue is known to u·‖M‖ absolutely: relative to it, the
# spread ‖M‖/|λ_min| times the condition of Hr (the scaling by Hr^{-1/2}).
cond_inf = max(cond_mu0, cond_mu10) * hr.max() / hr.min()
assert cond_inf < 200, cond_inf

values = {
    "n": N,
    "p": P,
    "loss": loss,
    "fro_G": fro_G,
    "fro_Sigma": fro_S,
    "tr_G_Sigma": tr_GS,
    "tr_Sigma1_G": tr_S1G,
    "tr_Sigma2_G": tr_S2G,
    "trace_G": float(np.trace(G)),
    "alpha": tr_GS / (fro_G * fro_S),
    "beta": fro_S / (2 * loss * fro_G),
    "mu": tr_GS / (2 * loss * fro_G**2),
    "mu1": tr_S1G / (2 * loss * fro_G**2),
    "mu2": tr_S2G / (2 * loss * fro_G**2),
    "gamma": float(chi.min() / chi.mean()),
    "tau": lam**2 / fro_G**2,
    "lambda_max": lam,
    "rank": rank,
    "flatness": fro_G,
    "eq11_printed_fro_Sigma": printed,
    "bound_gd_lambda_max": 2 / ETA,
    "bound_gd_fro": 2 * np.sqrt(rank) / ETA,
    "mu0": mu0,
    "mu1_0": mu10,
    "bound_thm33": np.sqrt(BATCH / mu0) / ETA,
    "bound_prop34": min(BATCH / np.sqrt((BATCH - 1) * mu10), 2 * BATCH / mu10) / ETA,
    "gram_lambda_min": float(np.linalg.eigvalsh(K)[0] / N),
}
with open("expected.json", "w") as f:
    json.dump({
        "numpy": np.__version__,
        "cancellation": cancel,
        "condition_of_infima": cond_inf,
        "args": ["--grads", "q.npy", "--residuals", "e.npy",
                 "--lr", repr(ETA), "--batch", str(BATCH), "--json"],
        "values": values,
    }, f, indent=2)
    f.write("\n")
