// Optimal-transport kernels. IPOT (Xie et al. 2020, one Sinkhorn step per proximal iteration) over
// many small problems at once: ORMA solves one problem per (text, molecule) pair, about a thousand
// 60 × 8 plans per training step, 50 iterations each. Written as tensor ops, every iteration is eight
// passes over all the plans in memory; here each plan stays in cache for all of its iterations and the
// problems run in parallel. Generic: any costs, any marginals.
#include "engine.h"
#include <ATen/Parallel.h>
#include <cmath>

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
  const double eps = 1e-8;
  at::parallel_for(0, P, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> A(n * m), Q(n * m);
    std::vector<double> sigma(m), delta(n), colSum(m);
    for (int64_t p = begin; p < end; ++p) {
      const float* cp = c + p * n * m;
      const float* ap = av + p * n;
      const float* bp = bv + p * m;
      float* pl = out + p * n * m;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < m; ++j) {
          A[i * m + j] = ap[i] * bp[j] == 0 ? 0.f : std::exp(-cp[i * m + j] / static_cast<float>(beta));
          pl[i * m + j] = 1.f;
        }
      std::fill(sigma.begin(), sigma.end(), 1.0 / static_cast<double>(m));
      for (int64_t it = 0; it < iterations; ++it) {
        std::fill(colSum.begin(), colSum.end(), 0.0);
        for (int64_t i = 0; i < n; ++i) {
          double rowSum = 0;
          for (int64_t j = 0; j < m; ++j) {
            const float q = A[i * m + j] * pl[i * m + j];
            Q[i * m + j] = q;
            rowSum += q * sigma[j];
          }
          delta[i] = ap[i] / (rowSum + eps);
        }
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < m; ++j) colSum[j] += Q[i * m + j] * delta[i];
        for (int64_t j = 0; j < m; ++j) sigma[j] = bp[j] / (colSum[j] + eps);
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < m; ++j) pl[i * m + j] = static_cast<float>(delta[i] * Q[i * m + j] * sigma[j]);
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
