// The local (token–atom) grain after its similarity GEMM, for training: every (text, molecule) pair's grouped
// score and its backward, each pair in cache from start to end. The similarities of all pairs are one flat
// GEMM of the real tokens against the real atoms (libtorch's, with its own backward), so no pair is padded;
// as tensor ops over size blocks (scores.ts `groupedScoresBlockwise`) the grain also made ~30 passes and
// autograd nodes over [texts, molecules, tokens, atoms] blocks and materialised every block's padding.
//
// localPairScores(sim [R, C], keys [C, D], u [A, D], rowOffsets [A+1], colOffsets [B+1], cosine) -> [A, B]:
// text a's tokens are sim rows rowOffsets[a]..[a+1], molecule b's atoms the columns (and keys rows)
// colOffsets[b]..[b+1]. For the pair (grouped.cc's contract, every atom real): w_t = (sim_t − min sim_t + 1e-6)
// / Σ, q_t = w_t Gram w_tᵀ, pooled = Σ_t w_t / √q_t, v = LN₀(Σ_c pooled_c K_c), score = u_a · v or cos(u_a, v);
// 0 for a pair without tokens or atoms. Differentiable in sim, keys and u; float32 or float64 (gradcheck).
// The backward recomputes each pair's forward; dsim blocks are disjoint, du rows belong to their text's
// chunk, and the keys' gradients (direct and through each molecule's gram, summed over texts before the
// k²·D product) go through per-chunk buffers summed in a fixed order.
#include "pairs.h"
#include <ATen/Dispatch.h>
#include <ATen/record_function.h>
#include <torch/csrc/autograd/custom_function.h>

namespace orma {
namespace {

using namespace pairs;

template <class S> struct Inputs {
  const S *sim, *K, *U;
  int64_t C, D;
  Ragged texts, molecules;
  bool cosine;
  Grams<S> grams;
};

// Every pair's forward state, kept for the backward (in tensors saved on the autograd node): the weights W
// [R × K8] (pair (a, b): text a's rows, molecule b's k8 = round8(k) columns from colAt[b], zero past k), per
// (token row, molecule) the row sum Z, the quadratic form q, 1/√q and the first key at the minimum, per
// (text, molecule) the pooled weights [A × K8], v = LN₀(·) [A·B × D] and its 1/σ.
template <class S> struct State {
  S *W, *Z, *q, *inv, *pooled, *V, *rstd;
  int64_t* lowest;
  int64_t K8;
  std::vector<int64_t> colAt;   // [B + 1]
};

inline std::vector<int64_t> paddedColumns(const Ragged& molecules) {
  std::vector<int64_t> at(molecules.count + 1, 0);
  for (int64_t b = 0; b < molecules.count; ++b) at[b + 1] = at[b] + dense::round8(molecules.size(b));
  return at;
}

// The tensors behind a State for R token rows, A texts and these molecules.
struct StateTensors {
  at::Tensor W, Z, q, inv, lowest, pooled, V, rstd;
  StateTensors(int64_t R, int64_t A, const Ragged& molecules, int64_t D, const at::TensorOptions& o) {
    const int64_t B = molecules.count, K8 = paddedColumns(molecules).back();
    W = at::zeros({R, K8}, o); Z = at::empty({R, B}, o); q = at::empty({R, B}, o); inv = at::empty({R, B}, o);
    lowest = at::empty({R, B}, o.dtype(at::kLong)); pooled = at::zeros({A, K8}, o); V = at::empty({A * B, D}, o); rstd = at::empty({A * B}, o);
  }
  explicit StateTensors(const std::vector<at::Tensor>& t) : W(t[0]), Z(t[1]), q(t[2]), inv(t[3]), lowest(t[4]), pooled(t[5]), V(t[6]), rstd(t[7]) {}
  std::vector<at::Tensor> list() const { return {W, Z, q, inv, lowest, pooled, V, rstd}; }
  template <class S> State<S> view(const Ragged& molecules) const {
    return {W.data_ptr<S>(), Z.data_ptr<S>(), q.data_ptr<S>(), inv.data_ptr<S>(), pooled.data_ptr<S>(), V.data_ptr<S>(), rstd.data_ptr<S>(),
            lowest.data_ptr<int64_t>(), W.size(1), paddedColumns(molecules)};
  }
};

// The backward's scratch for one pair.
template <class S> struct Scratch {
  std::vector<S> du, dv, hat, dpooled, dw, gw, dq, alpha;
};

// sq[t] = w_t G w_tᵀ for the n rows of W (stride ld, zero past k) and G [k × round8(k)] (zero past k)
__attribute__((always_inline)) inline void quadForms(const float* W, int64_t ld, int64_t n, int64_t k, const float* G, float* sq) {
  dense::quadFormsLdT(W, ld, n, k, G, sq);
}
__attribute__((always_inline)) inline void quadForms(const double* W, int64_t ld, int64_t n, int64_t k, const double* G, double* sq) {
  const int64_t k8 = dense::round8(k);
  for (int64_t t = 0; t < n; ++t) {
    double q = 0;
    for (int64_t c = 0; c < k; ++c) q += W[t * ld + c] * dot(G + c * k8, W + t * ld, k);
    sq[t] = q;
  }
}

template <class S> __attribute__((always_inline)) inline S pairForward(const Inputs<S>& in, const State<S>& st, int64_t a, int64_t b) {
  const int64_t n = in.texts.size(a), k = in.molecules.size(b), B = in.molecules.count, D = in.D, r0 = in.texts.at[a], p = a * B + b;
  const S* sim = in.sim + r0 * in.C + in.molecules.at[b];
  const S *K = in.K + in.molecules.at[b] * D, *G = in.grams.of(b);
  S* W = st.W + r0 * st.K8 + st.colAt[b];
  for (int64_t t = 0; t < n; ++t)
    st.Z[(r0 + t) * B + b] = static_cast<S>(rowWeights(sim + t * in.C, k, W + t * st.K8, st.lowest[(r0 + t) * B + b]));
  thread_local std::vector<S> sq;
  sq.resize(n);
  quadForms(W, st.K8, n, k, G, sq.data());
  S* pooled = st.pooled + a * st.K8 + st.colAt[b];
  for (int64_t t = 0; t < n; ++t) {
    const int64_t i = (r0 + t) * B + b;
    st.q[i] = sq[t];
    st.inv[i] = static_cast<S>(1.0 / std::sqrt(std::max<double>(sq[t], kMinSq)));
    axpy(pooled, st.inv[i], W + t * st.K8, dense::round8(k));
  }
  S* v = st.V + p * D;
  std::fill(v, v + D, S(0));
  combineRows(v, pooled, K, D, k, D);
  st.rstd[p] = layerNorm0(v, D);
  return pairScore(in.U + a * D, v, D, in.cosine);
}

// The pair's backward for g = dL/dscore from its saved state: its dsim block, du[a] (adds), dK rows (adds), the
// molecule's dG [k × k8] (adds).
template <class S> __attribute__((always_inline)) inline void pairBackward(const Inputs<S>& in, const State<S>& st, int64_t a, int64_t b, Scratch<S>& s, S g,
                                                                          S* dsim, S* du, S* dK, S* dG) {
  const int64_t n = in.texts.size(a), k = in.molecules.size(b), k8 = dense::round8(k), B = in.molecules.count, D = in.D, r0 = in.texts.at[a];
  const S *K = in.K + in.molecules.at[b] * D, *G = in.grams.of(b);
  const S *W = st.W + r0 * st.K8 + st.colAt[b], *pooled = st.pooled + a * st.K8 + st.colAt[b], *v = st.V + (a * B + b) * D;
  s.du.resize(D); s.dv.resize(D); s.hat.resize(D); s.dpooled.assign(k8, S(0)); s.dw.resize(k8); s.gw.resize(k8); s.dq.resize(n); s.alpha.resize(n);
  pairScoreBackward(in.U + a * D, v, D, in.cosine, g, s.du.data(), s.dv.data(), s.hat.data());
  axpy(du, S(1), s.du.data(), D);
  layerNorm0Backward(v, st.rstd[a * B + b], s.dv.data(), D);   // dv ← dz
  for (int64_t c = 0; c < k; ++c) {
    s.dpooled[c] = dot(s.dv.data(), K + c * D, D);
    axpy(dK + c * D, pooled[c], s.dv.data(), D);
  }
  for (int64_t t = 0; t < n; ++t) {
    const int64_t i = (r0 + t) * B + b;
    const S* w = W + t * st.K8;
    S* out = dsim + t * in.C;
    // pooled = Σ_t inv_t w_t, inv_t = q_t^(-1/2) (the clamp passes no gradient), q_t = w_t G w_tᵀ
    const double dinv = dot(w, s.dpooled.data(), k8);
    const double dq = st.q[i] > kMinSq ? dinv * st.inv[i] * -0.5 / st.q[i] : 0.0;
    std::fill(s.gw.begin(), s.gw.end(), S(0));
    combineRows(s.gw.data(), w, G, k8, k, k8);   // G w_t (G symmetric)
    for (int64_t c = 0; c < k8; ++c) s.dw[c] = static_cast<S>(st.inv[i] * s.dpooled[c] + 2 * dq * s.gw[c]);
    s.dq[t] = static_cast<S>(dq);
    // w = s / Z, s = sim − sim[lowest] + δ
    const double z = st.Z[i], zc = std::max(z, kMinSum);
    const double dZ = z > kMinSum ? -static_cast<double>(dot(s.dw.data(), w, k8)) / zc : 0.0;
    double dlo = 0;
    for (int64_t c = 0; c < k; ++c) { out[c] = static_cast<S>(s.dw[c] / zc + dZ); dlo -= out[c]; }
    out[st.lowest[i]] = static_cast<S>(out[st.lowest[i]] + dlo);
  }
  // dG += Σ_t dq_t w_t w_tᵀ, row c at a time: row c += Σ_t (dq_t w_tc) w_t, four rows of W per pass over it
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t t = 0; t < n; ++t) s.alpha[t] = s.dq[t] * W[t * st.K8 + c];
    combineRows(dG + c * k8, s.alpha.data(), W, st.K8, n, k8);
  }
}

template <class S> __attribute__((always_inline)) inline void forwardPairs(const Inputs<S>& in, const State<S>& st, int64_t begin, int64_t end, S* out) {
  const int64_t B = in.molecules.count;
  for (int64_t p = begin; p < end; ++p) {
    const int64_t a = p / B, b = p % B;
    out[p] = in.texts.size(a) == 0 || in.molecules.size(b) == 0 ? S(0) : pairForward(in, st, a, b);
  }
}

// Texts [begin, end) against every molecule. part: [C · D] keys' gradients, then every molecule's dG (grams.at).
template <class S> __attribute__((always_inline)) inline void backwardTexts(const Inputs<S>& in, const State<S>& st, const S* dscore, int64_t begin, int64_t end,
                                                                           S* dsim, S* du, S* part) {
  Scratch<S> s;
  const int64_t B = in.molecules.count;
  S* dG = part + in.C * in.D;
  for (int64_t a = begin; a < end; ++a)
    for (int64_t b = 0; b < B; ++b) {
      const int64_t p = a * B + b;
      if (in.texts.size(a) == 0 || in.molecules.size(b) == 0 || dscore[p] == 0) continue;
      pairBackward(in, st, a, b, s, dscore[p], dsim + in.texts.at[a] * in.C + in.molecules.at[b], du + a * in.D, part + in.molecules.at[b] * in.D,
                   dG + in.grams.at[b]);
    }
}

__attribute__((target("avx2,fma"))) void forwardAvx2(const Inputs<float>& in, const State<float>& st, int64_t b, int64_t e, float* out) {
  forwardPairs(in, st, b, e, out);
}
void forwardBase(const Inputs<float>& in, const State<float>& st, int64_t b, int64_t e, float* out) { forwardPairs(in, st, b, e, out); }
__attribute__((target("avx2,fma"))) void backwardAvx2(const Inputs<float>& in, const State<float>& st, const float* g, int64_t b, int64_t e, float* dsim,
                                                      float* du, float* part) {
  backwardTexts(in, st, g, b, e, dsim, du, part);
}
void backwardBase(const Inputs<float>& in, const State<float>& st, const float* g, int64_t b, int64_t e, float* dsim, float* du, float* part) {
  backwardTexts(in, st, g, b, e, dsim, du, part);
}
void runForward(const Inputs<float>& in, const State<float>& st, int64_t b, int64_t e, float* out) {
  (hasAvx2Fma() ? forwardAvx2 : forwardBase)(in, st, b, e, out);
}
void runForward(const Inputs<double>& in, const State<double>& st, int64_t b, int64_t e, double* out) { forwardPairs(in, st, b, e, out); }
void runBackward(const Inputs<float>& in, const State<float>& st, const float* g, int64_t b, int64_t e, float* dsim, float* du, float* part) {
  (hasAvx2Fma() ? backwardAvx2 : backwardBase)(in, st, g, b, e, dsim, du, part);
}
void runBackward(const Inputs<double>& in, const State<double>& st, const double* g, int64_t b, int64_t e, double* dsim, double* du, double* part) {
  backwardTexts(in, st, g, b, e, dsim, du, part);
}

template <class S> Inputs<S> inputsOf(const at::Tensor& sim, const at::Tensor& K, const at::Tensor& U, const at::Tensor& rows, const at::Tensor& cols, bool cosine) {
  const Ragged texts = raggedOf(rows, sim.size(0), "rowOffsets"), molecules = raggedOf(cols, sim.size(1), "colOffsets");
  return {sim.data_ptr<S>(), K.data_ptr<S>(), U.data_ptr<S>(), sim.size(1), K.size(1), texts, molecules, cosine, Grams<S>(K.data_ptr<S>(), K.size(1), molecules, true)};
}

void check(const at::Tensor& sim, const at::Tensor& K, const at::Tensor& U, const at::Tensor& rows, const at::Tensor& cols) {
  TORCH_CHECK(sim.dim() == 2 && K.dim() == 2 && U.dim() == 2, "sim must be [R, C], keys [C, D] and u [A, D]");
  TORCH_CHECK(K.size(0) == sim.size(1), "keys must have one row per sim column");
  TORCH_CHECK(U.size(1) == K.size(1) && U.size(0) == rows.size(0) - 1, "u must be [texts, D]");
  const auto t = sim.scalar_type();
  TORCH_CHECK((t == at::kFloat || t == at::kDouble) && K.scalar_type() == t && U.scalar_type() == t, "sim, keys and u must share a float32 or float64 dtype");
  raggedOf(rows, sim.size(0), "rowOffsets");
  raggedOf(cols, sim.size(1), "colOffsets");
}

struct LocalPairScores : public torch::autograd::Function<LocalPairScores> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& sim, const at::Tensor& K, const at::Tensor& U, const at::Tensor& rows,
                            const at::Tensor& cols, bool cosine) {
    RECORD_FUNCTION("orma::localPairScores", std::vector<c10::IValue>());  // named in profiles (profiler.cc)
    at::AutoDispatchBelowADInplaceOrView belowAutograd;
    const at::Tensor s = sim.contiguous(), k = K.contiguous(), u = U.contiguous();
    const int64_t A = rows.size(0) - 1, Bm = cols.size(0) - 1;
    at::Tensor out = at::empty({A, Bm}, s.options());
    const StateTensors state(s.size(0), A, raggedOf(cols, s.size(1), "colOffsets"), k.size(1), s.options());
    AT_DISPATCH_FLOATING_TYPES(s.scalar_type(), "localPairScores", [&] {
      const Inputs<scalar_t> in = inputsOf<scalar_t>(s, k, u, rows, cols, cosine);
      const State<scalar_t> st = state.view<scalar_t>(in.molecules);
      scalar_t* o = out.data_ptr<scalar_t>();
      at::parallel_for(0, A * Bm, 8, [&](int64_t begin, int64_t end) { runForward(in, st, begin, end, o); });
    });
    std::vector<at::Tensor> keep = {s, k, u};
    for (const at::Tensor& t : state.list()) keep.push_back(t);
    ctx->save_for_backward(keep);
    ctx->saved_data["rows"] = rows;
    ctx->saved_data["cols"] = cols;
    ctx->saved_data["cosine"] = cosine;
    return out;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &s = saved[0], &k = saved[1], &u = saved[2];
    const StateTensors state(std::vector<at::Tensor>(saved.begin() + 3, saved.end()));
    const at::Tensor rows = ctx->saved_data["rows"].toTensor(), cols = ctx->saved_data["cols"].toTensor();
    const bool cosine = ctx->saved_data["cosine"].toBool();
    const at::Tensor g = grads[0].contiguous();
    at::Tensor dsim = at::zeros_like(s), dK = at::zeros_like(k), du = at::zeros_like(u);
    AT_DISPATCH_FLOATING_TYPES(s.scalar_type(), "localPairScoresBackward", [&] {
      using S = scalar_t;
      const Inputs<S> in = inputsOf<S>(s, k, u, rows, cols, cosine);
      const State<S> st = state.view<S>(in.molecules);
      const int64_t keyPart = k.numel(), D = in.D;
      std::vector<S> sum(keyPart + in.grams.at.back(), S(0));
      textChunks<S>(in.texts.count, static_cast<int64_t>(sum.size()), sum.data(), [&](int64_t begin, int64_t end, S* part) {
        runBackward(in, st, g.data_ptr<S>(), begin, end, dsim.data_ptr<S>(), du.data_ptr<S>(), part);
      });
      // G = K Kᵀ per molecule: dK_b += (dG + dGᵀ) K_b, once per molecule for all its texts
      S* dk = dK.data_ptr<S>();
      std::copy(sum.begin(), sum.begin() + keyPart, dk);
      const S* dG = sum.data() + keyPart;
      at::parallel_for(0, in.molecules.count, 1, [&](int64_t begin, int64_t end) {
        std::vector<S> row;
        for (int64_t b = begin; b < end; ++b) {
          const int64_t k = in.molecules.size(b), k8 = in.grams.ld(b), first = in.molecules.at[b];
          const S* G = dG + in.grams.at[b];
          row.resize(k);
          for (int64_t c = 0; c < k; ++c) {
            for (int64_t l = 0; l < k; ++l) row[l] = G[c * k8 + l] + G[l * k8 + c];
            combineRows(dk + (first + c) * D, row.data(), in.K + first * D, D, k, D);
          }
        }
      });
    });
    return {dsim, dK, du, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

Napi::Value localPairScores(const Napi::CallbackInfo& info) {
  const at::Tensor& sim = T(info, 0);
  const at::Tensor& K = T(info, 1);
  const at::Tensor& U = T(info, 2);
  const at::Tensor rows = T(info, 3).detach().to(at::kLong).contiguous();
  const at::Tensor cols = T(info, 4).detach().to(at::kLong).contiguous();
  const bool cosine = B(info, 5);
  check(sim, K, U, rows, cols);
  return wrap(info.Env(), LocalPairScores::apply(sim, K, U, rows, cols, cosine));
}

}  // namespace

void registerLocal(Napi::Env env, Napi::Object exports) {
  registerOp(env, exports, "localPairScores", localPairScores);
}

}  // namespace orma
