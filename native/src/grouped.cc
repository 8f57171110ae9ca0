// The pooled key weights of a grouped ("SPARC-style") alignment score, fused, with its own backward.
// As tensor ops (scores.ts `groupedKeyVectorsOps`), the chain min-max → row normalisation → ‖G_t‖ from the
// keys' Gram matrix → Σ_t w_t / ‖G_t‖ is about a dozen passes forward and twenty backward over
// [texts, molecules, tokens, keys] tensors in memory, each with its autograd node; here the O(n·k) part
// (shift, mask, row normalisation, and its backward through the min) is one native pass, the O(n·k²) part
// batched matrix products, and autograd sees one node. Generic: any similarities, Gram matrices and masks.
//
// groupedPoolWeights(sim [X, n, k], gram [X, k, k], qm [X, n], km [X, k]) -> p [X, k], for each problem x:
//   lo_t = min over real keys (km ≠ 0) of sim_tk (1e30 when there is none),
//   s_tk = (sim_tk − lo_t + 1e-6) · [km_k ≠ 0],  w_tk = s_tk / max(Σ_k s_tk, 1e-30),
//   q_t = w_t · gram · w_tᵀ,  inv_t = qm_t / √max(q_t, 1e-24),  p_k = Σ_t w_tk · inv_t.
// Differentiable in sim and gram (the masks get no gradient); the row sums accumulate in double.
#include "engine.h"
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>
#include <algorithm>
#include <cmath>
#include <vector>

namespace orma {
namespace {

constexpr double kShift = 1e-6, kMinSum = 1e-30, kMinSq = 1e-24, kNoKey = 1e30;

// Stage 1, O(n·k) per problem: w [X, n, k] from sim and km; Z [X, n] the row sums before the clamp and
// lo's argmin [X, n] (−1 without real keys), both for the backward.
template <class S> void rowWeights(const at::Tensor& sim, const at::Tensor& km, at::Tensor& w, at::Tensor& Z, at::Tensor& argmin) {
  const int64_t X = sim.size(0), n = sim.size(1), k = sim.size(2);
  const S *sp = sim.data_ptr<S>(), *kp = km.data_ptr<S>();
  S *wp = w.data_ptr<S>(), *zp = Z.data_ptr<S>();
  int64_t* ap = argmin.data_ptr<int64_t>();
  at::parallel_for(0, X * n, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const S* row = sp + r * k;
      const S* real = kp + (r / n) * k;
      S* wr = wp + r * k;
      double lo = kNoKey;
      int64_t at = -1;
      for (int64_t j = 0; j < k; ++j)
        if (real[j] != 0 && (at < 0 || row[j] < lo)) { lo = row[j]; at = j; }
      double z = 0;
      for (int64_t j = 0; j < k; ++j) {
        const double s = real[j] != 0 ? (row[j] - lo) + kShift : 0.0;
        wr[j] = static_cast<S>(s);
        z += s;
      }
      const double zc = std::max(z, kMinSum);
      for (int64_t j = 0; j < k; ++j) wr[j] = static_cast<S>(wr[j] / zc);
      zp[r] = static_cast<S>(z);
      ap[r] = at;
    }
  });
}

// Stage 1 backward: dsim from dw (w = s / max(Z, 1e-30), s = sim − lo + δ on real keys, lo = the real minimum).
template <class S> void rowWeightsBackward(const at::Tensor& w, const at::Tensor& Z, const at::Tensor& argmin, const at::Tensor& km, const at::Tensor& dw,
                                           at::Tensor& dsim) {
  const int64_t X = w.size(0), n = w.size(1), k = w.size(2);
  const S *wp = w.data_ptr<S>(), *zp = Z.data_ptr<S>(), *kp = km.data_ptr<S>(), *dwp = dw.data_ptr<S>();
  const int64_t* ap = argmin.data_ptr<int64_t>();
  S* out = dsim.data_ptr<S>();
  at::parallel_for(0, X * n, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const S *wr = wp + r * k, *dr = dwp + r * k, *real = kp + (r / n) * k;
      S* o = out + r * k;
      const double z = zp[r], zc = std::max(z, kMinSum);
      double dot = 0;  // Σ_j dw_j s_j = Zc · Σ_j dw_j w_j
      for (int64_t j = 0; j < k; ++j) dot += static_cast<double>(dr[j]) * wr[j];
      const double dZ = z > kMinSum ? -dot / zc : 0.0;
      double dlo = 0;
      for (int64_t j = 0; j < k; ++j) {
        const double ds = real[j] != 0 ? dr[j] / zc + dZ : 0.0;
        o[j] = static_cast<S>(ds);
        dlo -= ds;
      }
      if (ap[r] >= 0) o[ap[r]] = static_cast<S>(o[ap[r]] + dlo);
    }
  });
}

void check(const at::Tensor& sim, const at::Tensor& gram, const at::Tensor& qm, const at::Tensor& km) {
  TORCH_CHECK(sim.dim() == 3, "sim must be [X, n, k]");
  const int64_t X = sim.size(0), n = sim.size(1), k = sim.size(2);
  TORCH_CHECK(gram.dim() == 3 && gram.size(0) == X && gram.size(1) == k && gram.size(2) == k, "gram must be [X, k, k]");
  TORCH_CHECK(qm.dim() == 2 && qm.size(0) == X && qm.size(1) == n, "qm must be [X, n]");
  TORCH_CHECK(km.dim() == 2 && km.size(0) == X && km.size(1) == k, "km must be [X, k]");
  TORCH_CHECK(sim.scalar_type() == at::kFloat || sim.scalar_type() == at::kDouble, "sim must be float32 or float64");
  for (const at::Tensor* t : {&gram, &qm, &km}) TORCH_CHECK(t->scalar_type() == sim.scalar_type(), "all inputs must have sim's dtype");
}

// Stage 2 as batched products (the k² work per query goes to BLAS): G = w · gram, q = Σ_l G ⊙ w,
// inv = qm / √max(q, 1e-24), p = Σ_t w_t · inv_t.
struct GroupedPoolWeights : public torch::autograd::Function<GroupedPoolWeights> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& sim, const at::Tensor& gram, const at::Tensor& qm, const at::Tensor& km) {
    at::AutoDispatchBelowADInplaceOrView guard;
    const at::Tensor s = sim.contiguous(), g = gram.contiguous(), m = km.contiguous();
    const int64_t X = s.size(0), n = s.size(1);
    at::Tensor w = at::empty_like(s), Z = at::empty({X, n}, s.options()), argmin = at::empty({X, n}, s.options().dtype(at::kLong));
    AT_DISPATCH_FLOATING_TYPES(s.scalar_type(), "groupedPoolWeights", [&] { rowWeights<scalar_t>(s, m, w, Z, argmin); });
    const at::Tensor Gw = at::bmm(w, g), q = (Gw * w).sum(-1);
    const at::Tensor inv = qm * q.clamp_min(kMinSq).rsqrt();
    ctx->save_for_backward({w, Z, argmin, m, g, Gw, q, inv});
    return at::bmm(inv.unsqueeze(1), w).squeeze(1);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto v = ctx->get_saved_variables();
    const at::Tensor &w = v[0], &Z = v[1], &argmin = v[2], &m = v[3], &g = v[4], &Gw = v[5], &q = v[6], &inv = v[7];
    const at::Tensor dp = grads[0];                                                   // [X, k]
    const at::Tensor dinv = at::bmm(w, dp.unsqueeze(-1)).squeeze(-1);                // [X, n]
    // inv = qm · q^(-1/2) where q > 1e-24 (the clamp passes no gradient)
    const at::Tensor dq = at::where(q > kMinSq, dinv * inv * -0.5 / q, at::zeros_like(q));
    // q = w gram wᵀ: dw = dq · w (gram + gramᵀ), dgram = Σ_t dq_t w_tᵀ w_t
    const at::Tensor dw = (dp.unsqueeze(1) * inv.unsqueeze(-1) + dq.unsqueeze(-1) * (Gw + at::bmm(w, g.transpose(1, 2)))).contiguous();
    const at::Tensor dgram = at::bmm((w * dq.unsqueeze(-1)).transpose(1, 2), w);
    at::Tensor dsim = at::empty_like(w);
    AT_DISPATCH_FLOATING_TYPES(w.scalar_type(), "groupedPoolWeightsBackward", [&] { rowWeightsBackward<scalar_t>(w, Z, argmin, m, dw, dsim); });
    return {dsim, dgram, at::Tensor(), at::Tensor()};
  }
};

Napi::Value groupedPoolWeights(const Napi::CallbackInfo& info) {
  const at::Tensor& sim = T(info, 0);
  const at::Tensor& gram = T(info, 1);
  const at::Tensor qm = T(info, 2).detach();
  const at::Tensor km = T(info, 3).detach();
  check(sim, gram, qm, km);
  return wrap(info.Env(), GroupedPoolWeights::apply(sim, gram, qm, km));
}

}  // namespace

void registerGrouped(Napi::Env env, Napi::Object exports) {
  registerOp(env, exports, "groupedPoolWeights", groupedPoolWeights);
}

}  // namespace orma
