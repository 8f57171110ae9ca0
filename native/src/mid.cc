// The mid grain after its token → motif assignments, for training: every (text, molecule) pair's score and
// its backward, each pair in cache from start to end. As tensor ops (scores.ts `midScoresBlockwise`) the
// grain makes one-hot [texts, molecules, tokens, motifs] tensors, GEMMs over them and ~40 passes over
// [texts, molecules, motifs, D] blocks in memory with an autograd node each; its cost followed its padded
// elements, not its FLOPs (docs/model.md, "Block fill"). Here the inputs are ragged (no pair is padded), the
// forward is the pool scorer's per-pair math (pool_kernels.cc midPairT), and the backward recomputes each
// pair's forward (a few k·D FLOPs) instead of keeping [A, B, m, D] intermediates.
//
// midPairScores(X [R, D], motifs [C, D], rowOffsets [A+1], colOffsets [B+1], assign int32 [A·B, N], cosine)
// -> [A, B]. Text a's multi-token vectors are X rows rowOffsets[a]..[a+1] (n_a), molecule b's motifs the rows
// colOffsets[b]..[b+1] (m_b); assign[a·B + b][i] is the motif (0 .. m_b − 1) of token i < n_a (midAssignments
// in pool.cc). For the pair: P_j = mean of the tokens sent to motif j (the phrases; j "on" if it got one),
// u = LN₀(Σ_on P_j / ‖P_j‖); sim_jc = P_j · K_c; w_j = (sim_j − min_c sim_jc + 1e-6) / Σ (min-max without the
// max, which cancels); q_j = w_j Gram w_jᵀ; pooled_c = Σ_on w_jc / √q_j; v = LN₀(Σ_c pooled_c K_c);
// score = u · v or cos(u, v). A pair without tokens or motifs scores 0. Differentiable in X and motifs (the
// assignments are a no-grad argmax); float32 or float64 (gradcheck). dmotifs sums over texts in per-thread
// buffers reduced in a fixed order: deterministic for a given thread count.
#include "pairs.h"
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/csrc/autograd/custom_function.h>
#include <algorithm>
#include <cmath>
#include <vector>

namespace orma {
namespace {

using namespace pairs;

// One pair's forward state (the backward recomputes it). Buffers sized for m motifs and D.
template <class S> struct Pair {
  int64_t n = 0, m = 0, D = 0;
  std::vector<S> P, count, norm, u, v, sim, w, Z, q, inv, pooled;
  std::vector<S> hat, part, wk, dpooled, dw, gw, dsim;   // the backward's scratch
  std::vector<int64_t> lowest;
  std::vector<unsigned char> on;
  S rstdU = 0, rstdV = 0, score = 0;
  void size(int64_t m_, int64_t D_) {
    m = m_; D = D_;
    P.assign(m * D, S(0)); count.assign(m, S(0)); norm.assign(m, S(0)); u.assign(D, S(0)); v.assign(D, S(0));
    sim.assign(m * m, S(0)); w.assign(m * m, S(0)); Z.assign(m, S(0)); q.assign(m, S(0)); inv.assign(m, S(0)); pooled.assign(m, S(0));
    lowest.assign(m, -1); on.assign(m, 0);
    hat.resize(D); part.resize(D); wk.resize(D); dpooled.resize(m); dw.resize(m); gw.resize(m); dsim.resize(m);
  }
};

// The forward of one pair: tokens X [n × D] with motifs assign [n], motifs K [m × D] with gram G [m × m].
template <class S> __attribute__((always_inline)) inline void pairForward(Pair<S>& s, const int32_t* assign, int64_t n, const S* X, const S* K, const S* G,
                                                                         bool cosine) {
  const int64_t m = s.m, D = s.D;
  s.n = n;
  for (int64_t i = 0; i < n; ++i) {
    axpy(s.P.data() + assign[i] * D, S(1), X + i * D, D);
    s.count[assign[i]] += 1;
  }
  // the phrases (means) and u
  for (int64_t j = 0; j < m; ++j) {
    s.on[j] = s.count[j] > 0;
    if (!s.on[j]) continue;
    S* p = s.P.data() + j * D;
    const S share = S(1) / s.count[j];
    for (int64_t d = 0; d < D; ++d) p[d] *= share;
    s.norm[j] = static_cast<S>(norm2(p, D));
    axpy(s.u.data(), static_cast<S>(1.0 / std::max<double>(s.norm[j], kNormEps)), p, D);
  }
  s.rstdU = layerNorm0(s.u.data(), D);
  // the phrases grouped over the motifs (grouped.cc's contract, every motif real)
  for (int64_t j = 0; j < m; ++j) {
    if (!s.on[j]) continue;
    S* sj = s.sim.data() + j * m;
    for (int64_t c = 0; c < m; ++c) sj[c] = dot(s.P.data() + j * D, K + c * D, D);
    S* wj = s.w.data() + j * m;
    s.Z[j] = static_cast<S>(rowWeights(sj, m, wj, s.lowest[j]));
    double qj = 0;
    for (int64_t c = 0; c < m; ++c) qj += wj[c] * dot(G + c * m, wj, m);
    s.q[j] = static_cast<S>(qj);
    s.inv[j] = static_cast<S>(1.0 / std::sqrt(std::max(qj, kMinSq)));
    for (int64_t c = 0; c < m; ++c) s.pooled[c] += s.inv[j] * wj[c];
  }
  for (int64_t c = 0; c < m; ++c) axpy(s.v.data(), s.pooled[c], K + c * D, D);
  s.rstdV = layerNorm0(s.v.data(), D);
  s.score = pairScore(s.u.data(), s.v.data(), D, cosine);
}

// The backward of one pair from its forward state and g = dL/dscore: adds into dX [n × D] and dK [m × D].
// du, dv, dP: scratch of D, D and m × D.
template <class S> __attribute__((always_inline)) inline void pairBackward(Pair<S>& s, S g, const int32_t* assign, const S* K, const S* G, bool cosine,
                                                                          S* dX, S* dK, S* du, S* dv, S* dP) {
  const int64_t m = s.m, D = s.D;
  const S *u = s.u.data(), *v = s.v.data();
  pairScoreBackward(u, v, D, cosine, g, du, dv, s.hat.data());
  layerNorm0Backward(v, s.rstdV, dv, D);   // dv ← dz
  layerNorm0Backward(u, s.rstdU, du, D);   // du ← dy
  std::vector<S>&dpooled = s.dpooled, &dw = s.dw, &gw = s.gw, &dsim = s.dsim;
  for (int64_t c = 0; c < m; ++c) {
    dpooled[c] = dot(dv, K + c * D, D);
    axpy(dK + c * D, s.pooled[c], dv, D);
  }
  std::fill(dP, dP + m * D, S(0));
  for (int64_t j = 0; j < m; ++j) {
    if (!s.on[j]) continue;
    const S* wj = s.w.data() + j * m;
    // p = Σ_j inv_j w_j, inv_j = q_j^(-1/2) (the clamp passes no gradient), q_j = w_j G w_jᵀ
    const double dinv = dot(wj, dpooled.data(), m);
    const double dq = s.q[j] > kMinSq ? dinv * s.inv[j] * -0.5 / s.q[j] : 0.0;
    for (int64_t c = 0; c < m; ++c) gw[c] = dot(G + c * m, wj, m);   // (G w_j)_c, G symmetric
    for (int64_t c = 0; c < m; ++c) dw[c] = static_cast<S>(s.inv[j] * dpooled[c] + 2 * dq * gw[c]);
    // dG = dq w_j w_jᵀ, and G = K Kᵀ: dK_c += 2 dq (w_j)_c Σ_l (w_j)_l K_l
    for (int64_t c = 0; c < m; ++c) gw[c] = static_cast<S>(2 * dq * wj[c]);
    // w = s / Z, s = sim − sim[lowest] + δ
    const double z = s.Z[j], zc = std::max(z, kMinSum);
    const double dZ = z > kMinSum ? -static_cast<double>(dot(dw.data(), wj, m)) / zc : 0.0;
    double dlo = 0;
    for (int64_t c = 0; c < m; ++c) { dsim[c] = static_cast<S>(dw[c] / zc + dZ); dlo -= dsim[c]; }
    dsim[s.lowest[j]] = static_cast<S>(dsim[s.lowest[j]] + dlo);
    // sim_jc = P_j · K_c
    const S* pj = s.P.data() + j * D;
    S* dpj = dP + j * D;
    for (int64_t c = 0; c < m; ++c) {
      axpy(dpj, dsim[c], K + c * D, D);
      axpy(dK + c * D, dsim[c], pj, D);
    }
    // the gram's share: Σ_l (w_j)_l K_l, then dK_c += 2 dq (w_j)_c · it
    S* wk = s.wk.data();
    std::fill(wk, wk + D, S(0));
    for (int64_t l = 0; l < m; ++l) axpy(wk, wj[l], K + l * D, D);
    for (int64_t c = 0; c < m; ++c) axpy(dK + c * D, gw[c], wk, D);
    // u's share: y = Σ_on P_j / ‖P_j‖
    S *part = s.part.data(), *hat = s.hat.data();
    std::copy(du, du + D, part);
    const double nj = s.norm[j];
    const S ij = static_cast<S>(1.0 / std::max(nj, kNormEps));
    for (int64_t d = 0; d < D; ++d) hat[d] = pj[d] * ij;
    normalizeBackward(hat, nj, part, D);
    axpy(dpj, S(1), part, D);
  }
  // P_j = mean of its tokens
  for (int64_t i = 0; i < s.n; ++i) {
    const int64_t j = assign[i];
    axpy(dX + i * D, static_cast<S>(1.0 / s.count[j]), dP + j * D, D);
  }
}

template <class S> struct Inputs {
  const S *X, *K;
  Ragged texts, molecules;
  const int32_t* assign;
  int64_t N, D;
  bool cosine;
  Grams<S> grams;
  int64_t n(int64_t a) const { return texts.size(a); }
  int64_t m(int64_t b) const { return molecules.size(b); }
};

template <class S> __attribute__((always_inline)) inline void forwardPairs(const Inputs<S>& in, int64_t begin, int64_t end, S* out) {
  Pair<S> s;
  for (int64_t p = begin; p < end; ++p) {
    const int64_t a = p / in.molecules.count, b = p % in.molecules.count, n = in.n(a), m = in.m(b);
    if (n == 0 || m == 0) { out[p] = 0; continue; }
    s.size(m, in.D);
    pairForward(s, in.assign + p * in.N, n, in.X + in.texts.at[a] * in.D, in.K + in.molecules.at[b] * in.D, in.grams.of(b), in.cosine);
    out[p] = s.score;
  }
}

// Texts [begin, end) against every molecule: dX rows of those texts, dK into this chunk's own buffer.
template <class S> __attribute__((always_inline)) inline void backwardTexts(const Inputs<S>& in, const S* dscore, int64_t begin, int64_t end, S* dX, S* dK) {
  Pair<S> s;
  std::vector<S> du(in.D), dv(in.D), dP;
  for (int64_t a = begin; a < end; ++a) {
    for (int64_t b = 0; b < in.molecules.count; ++b) {
      const int64_t p = a * in.molecules.count + b, n = in.n(a), m = in.m(b);
      if (n == 0 || m == 0 || dscore[p] == 0) continue;
      s.size(m, in.D);
      dP.resize(m * in.D);
      const S* K = in.K + in.molecules.at[b] * in.D;
      const S* G = in.grams.of(b);
      pairForward(s, in.assign + p * in.N, n, in.X + in.texts.at[a] * in.D, K, G, in.cosine);
      pairBackward(s, dscore[p], in.assign + p * in.N, K, G, in.cosine, dX + in.texts.at[a] * in.D, dK + in.molecules.at[b] * in.D, du.data(), dv.data(), dP.data());
    }
  }
}

__attribute__((target("avx2,fma"))) void forwardAvx2(const Inputs<float>& in, int64_t b, int64_t e, float* out) { forwardPairs(in, b, e, out); }
void forwardBase(const Inputs<float>& in, int64_t b, int64_t e, float* out) { forwardPairs(in, b, e, out); }
__attribute__((target("avx2,fma"))) void backwardAvx2(const Inputs<float>& in, const float* g, int64_t b, int64_t e, float* dX, float* dK) {
  backwardTexts(in, g, b, e, dX, dK);
}
void backwardBase(const Inputs<float>& in, const float* g, int64_t b, int64_t e, float* dX, float* dK) { backwardTexts(in, g, b, e, dX, dK); }
void runForward(const Inputs<float>& in, int64_t b, int64_t e, float* out) { (hasAvx2Fma() ? forwardAvx2 : forwardBase)(in, b, e, out); }
void runForward(const Inputs<double>& in, int64_t b, int64_t e, double* out) { forwardPairs(in, b, e, out); }
void runBackward(const Inputs<float>& in, const float* g, int64_t b, int64_t e, float* dX, float* dK) {
  (hasAvx2Fma() ? backwardAvx2 : backwardBase)(in, g, b, e, dX, dK);
}
void runBackward(const Inputs<double>& in, const double* g, int64_t b, int64_t e, double* dX, double* dK) { backwardTexts(in, g, b, e, dX, dK); }

template <class S> Inputs<S> inputsOf(const at::Tensor& X, const at::Tensor& K, const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& assign,
                                      bool cosine) {
  const Ragged texts = raggedOf(rows, X.size(0), "rowOffsets"), molecules = raggedOf(cols, K.size(0), "colOffsets");
  return {X.data_ptr<S>(), K.data_ptr<S>(), texts, molecules, assign.data_ptr<int32_t>(), assign.size(1), X.size(1), cosine,
          Grams<S>(K.data_ptr<S>(), K.size(1), molecules)};
}

void check(const at::Tensor& X, const at::Tensor& K, const at::Tensor& rows, const at::Tensor& cols, const at::Tensor& assign) {
  TORCH_CHECK(X.dim() == 2 && K.dim() == 2 && X.size(1) == K.size(1), "tokens must be [R, D] and motifs [C, D]");
  TORCH_CHECK(X.scalar_type() == K.scalar_type() && (X.scalar_type() == at::kFloat || X.scalar_type() == at::kDouble),
              "tokens and motifs must both be float32 or both float64");
  const Ragged texts = raggedOf(rows, X.size(0), "rowOffsets"), molecules = raggedOf(cols, K.size(0), "colOffsets");
  const int64_t A = texts.count, Bm = molecules.count;
  TORCH_CHECK(assign.dim() == 2 && assign.scalar_type() == at::kInt && assign.size(0) == A * Bm && assign.size(1) >= texts.longest(),
              "assign must be int32 [texts · molecules, longest text]");
  const int32_t* as = assign.data_ptr<int32_t>();
  for (int64_t p = 0; p < A * Bm; ++p) {
    const int64_t n = texts.size(p / Bm), m = molecules.size(p % Bm);
    if (m == 0) continue;
    for (int64_t i = 0; i < n; ++i)
      TORCH_CHECK(as[p * assign.size(1) + i] >= 0 && as[p * assign.size(1) + i] < m, "assign of pair ", p, ", token ", i, " is not one of its molecule's ", m, " motifs");
  }
}

struct MidPairScores : public torch::autograd::Function<MidPairScores> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& X, const at::Tensor& K, const at::Tensor& rows, const at::Tensor& cols,
                            const at::Tensor& assign, bool cosine) {
    RECORD_FUNCTION("orma::midPairScores", std::vector<c10::IValue>());  // named in profiles (profiler.cc)
    at::AutoDispatchBelowADInplaceOrView belowAutograd;
    const at::Tensor x = X.contiguous(), k = K.contiguous();
    const int64_t A = rows.size(0) - 1, Bm = cols.size(0) - 1;
    at::Tensor out = at::empty({A, Bm}, x.options());
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "midPairScores", [&] {
      const Inputs<scalar_t> in = inputsOf<scalar_t>(x, k, rows, cols, assign, cosine);
      scalar_t* o = out.data_ptr<scalar_t>();
      at::parallel_for(0, A * Bm, 8, [&](int64_t begin, int64_t end) { runForward(in, begin, end, o); });
    });
    ctx->save_for_backward({x, k});
    ctx->saved_data["rows"] = rows;
    ctx->saved_data["cols"] = cols;
    ctx->saved_data["assign"] = assign;
    ctx->saved_data["cosine"] = cosine;
    return out;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &k = saved[1];
    const at::Tensor rows = ctx->saved_data["rows"].toTensor(), cols = ctx->saved_data["cols"].toTensor(), assign = ctx->saved_data["assign"].toTensor();
    const bool cosine = ctx->saved_data["cosine"].toBool();
    const at::Tensor g = grads[0].contiguous();
    at::Tensor dX = at::zeros_like(x), dK = at::zeros_like(k);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "midPairScoresBackward", [&] {
      using S = scalar_t;
      const Inputs<S> in = inputsOf<S>(x, k, rows, cols, assign, cosine);
      textChunks<S>(in.texts.count, k.numel(), dK.data_ptr<S>(), [&](int64_t begin, int64_t end, S* part) {
        runBackward(in, g.data_ptr<S>(), begin, end, dX.data_ptr<S>(), part);
      });
    });
    return {dX, dK, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

Napi::Value midPairScores(const Napi::CallbackInfo& info) {
  const at::Tensor& X = T(info, 0);
  const at::Tensor& K = T(info, 1);
  const at::Tensor rows = T(info, 2).detach().to(at::kLong).contiguous();
  const at::Tensor cols = T(info, 3).detach().to(at::kLong).contiguous();
  const at::Tensor assign = T(info, 4).detach().contiguous();
  const bool cosine = B(info, 5);
  check(X, K, rows, cols, assign);
  return wrap(info.Env(), MidPairScores::apply(X, K, rows, cols, assign, cosine));
}

}  // namespace

void registerMid(Napi::Env env, Napi::Object exports) {
  registerOp(env, exports, "midPairScores", midPairScores);
}

}  // namespace orma
