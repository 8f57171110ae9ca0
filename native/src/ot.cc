// Optimal-transport kernels. IPOT (Xie et al. 2020, one Sinkhorn step per proximal iteration) over
// many small problems at once: ORMA solves one problem per (text, molecule) pair, about a thousand
// 60 × 8 plans per training step, 50 iterations each. Written as tensor ops, every iteration is eight
// passes over all the plans in memory; here each plan stays in cache for all of its iterations, W plans
// share each SIMD instruction (one per lane) and the lane groups run in parallel. Generic: any costs,
// any marginals.
#include "engine.h"
#include <ATen/Parallel.h>
#include <algorithm>
#include <cmath>
#include "pool_kernels.h"

namespace orma {
namespace {

// ipotPlan(cost [P, n, m], a [P, n], b [P, m], beta, iterations) -> plan [P, n, m] (float32, no grad).
// Π₀ = 1, σ₀ = 1/m; each iteration Q = A ⊙ Π, δ = a / (Qσ + ε), σ = b / (Qᵀδ + ε), Π = diag(δ) Q diag(σ),
// with A = exp(−C/β) set to 0 wherever a_i · b_j = 0 (padding carries no mass). ε = 1e-8, as ORMA's code.
Napi::Value ipotPlan(const Napi::CallbackInfo& info) {
  at::NoGradGuard noGrad;
  const at::Tensor cost = T(info, 0).detach().to(at::kFloat).contiguous();
  const at::Tensor a = T(info, 1).detach().to(at::kFloat).contiguous();
  const at::Tensor b = T(info, 2).detach().to(at::kFloat).contiguous();
  const double beta = D(info, 3);
  const int64_t iterations = I(info, 4);
  TORCH_CHECK(cost.dim() == 3, "cost must be [P, n, m]");
  const int64_t P = cost.size(0), n = cost.size(1), m = cost.size(2);
  TORCH_CHECK(a.dim() == 2 && a.size(0) == P && a.size(1) == n, "a must be [P, n]");
  TORCH_CHECK(b.dim() == 2 && b.size(0) == P && b.size(1) == m, "b must be [P, m]");
  TORCH_CHECK(beta > 0, "beta must be positive");
  at::Tensor plan = at::empty({P, n, m}, cost.options());
  const float* c = cost.data_ptr<float>();
  const float* av = a.data_ptr<float>();
  const float* bv = b.data_ptr<float>();
  float* out = plan.data_ptr<float>();
  // W problems per SIMD lane group (pool_kernels.cc `ipotLanes`): every lane runs the scalar iteration
  // above in the same order and rounding (W = 1 is that scalar loop), and all problems of a [P, n, m]
  // tensor share their shape, as the lanes require. Spare lanes of the last group repeat its last problem.
  const int W = pool::maxLanes();
  const int64_t groups = (P + W - 1) / W;
  const float fbeta = static_cast<float>(beta);
  at::parallel_for(0, groups, 1, [&](int64_t begin, int64_t end) {
    thread_local pool::Buffer<float> Abuf, abuf, bbuf, plbuf;
    thread_local pool::Buffer<double> scratch;
    float* A = Abuf.get(n * m * W);
    float* al = abuf.get(n * W);
    float* bl = bbuf.get(m * W);
    float* pl = plbuf.get(n * m * W);
    double* sc = scratch.get((n * m + n + 2 * m) * W);
    for (int64_t g = begin; g < end; ++g) {
      const int64_t first = g * W, count = std::min<int64_t>(W, P - first);
      for (int l = 0; l < W; ++l) {
        const int64_t p = first + std::min<int64_t>(l, count - 1);
        const float* cp = c + p * n * m;
        const float* ap = av + p * n;
        const float* bp = bv + p * m;
        for (int64_t i = 0; i < n; ++i) al[i * W + l] = ap[i];
        for (int64_t j = 0; j < m; ++j) bl[j * W + l] = bp[j];
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < m; ++j) A[(i * m + j) * W + l] = ap[i] * bp[j] == 0 ? 0.f : std::exp(-cp[i * m + j] / fbeta);
      }
      pool::ipotLanes(W, n, m, iterations, A, al, bl, pl, sc);
      for (int64_t l = 0; l < count; ++l) {
        float* dst = out + (first + l) * n * m;
        for (int64_t e = 0; e < n * m; ++e) dst[e] = pl[e * W + l];
      }
    }
  });
  return wrap(info.Env(), std::move(plan));
}

}  // namespace

void registerOt(Napi::Env env, Napi::Object exports) {
  registerOp(env, exports, "ipotPlan", ipotPlan);
}

}  // namespace orma
