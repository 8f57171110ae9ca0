// The pooled key weights of a grouped ("SPARC-style") alignment score, fused, with its own backward.
// As tensor ops (scores.ts `groupedKeyVectorsOps`), the chain min-max → row normalisation → ‖G_t‖ from the
// keys' Gram matrix → Σ_t w_t / ‖G_t‖ is about a dozen passes forward and twenty backward over
// [texts, molecules, tokens, keys] tensors in memory, each with its autograd node. Here each problem is
// one pass in cache, and autograd sees one node. The O(n·k²) Gram terms are register-blocked loops
// (dense.h, AVX2 + FMA where the CPU has it) rather than batched BLAS calls: with k of 7-70 keys, a
// thousand small multi-threaded GEMMs a step spent most of their time packing, zeroing and waiting on each
// other (perf, 2026-12-02: sgemm's copies, beta and sched_yield three times its kernel). The loops also skip
// what carries no mass: padded queries (qm = 0) and keys past a problem's last real key.
//
// groupedPoolWeights(sim [X, n, k], gram [G, k, k], index [X] int64, qm [X, n], km [X, k]) -> p [X, k];
// problem x uses gram index[x] (one gram per molecule, shared by every text, never copied), and:
//   lo_t = min over real keys (km ≠ 0) of sim_tk (1e30 when there is none),
//   s_tk = (sim_tk − lo_t + 1e-6) · [km_k ≠ 0],  w_tk = s_tk / max(Σ_k s_tk, 1e-30),
//   q_t = w_t · gram · w_tᵀ,  inv_t = qm_t / √max(q_t, 1e-24),  p_k = Σ_t w_tk · inv_t.
// Differentiable in sim and gram (index and masks get no gradient; dgram sums over the problems sharing a
// gram); the row sums of w accumulate in double; float32 or float64.
#include "engine.h"
#include "dense.h"
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/csrc/autograd/custom_function.h>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace orma {
namespace {

constexpr double kShift = 1e-6, kMinSum = 1e-30, kMinSq = 1e-24, kNoKey = 1e30;

// ---------------------------------------------------------------------------------------------------
// The k² building blocks: float through dense.h's vector helpers, double as plain loops (tests, gradcheck).
// Rows have stride ld ≥ k, zero past k where a helper reads them.

__attribute__((always_inline)) inline float dotK(const float* x, const float* y, int64_t k) { return dense::dotT(x, y, k); }
__attribute__((always_inline)) inline double dotK(const double* x, const double* y, int64_t k) {
  double s = 0;
  for (int64_t j = 0; j < k; ++j) s += x[j] * y[j];
  return s;
}
// y[0, len) += Σ_{c < count} alpha[c] · X[c · ld + (0, len)]
__attribute__((always_inline)) inline void combineK(float* y, const float* alpha, const float* X, int64_t ld, int64_t count, int64_t len) {
  dense::combineRowsT(y, alpha, X, ld, count, len);
}
__attribute__((always_inline)) inline void combineK(double* y, const double* alpha, const double* X, int64_t ld, int64_t count, int64_t len) {
  for (int64_t c = 0; c < count; ++c)
    for (int64_t l = 0; l < len; ++l) y[l] += alpha[c] * X[c * ld + l];
}
// sq[r] = W_r G W_rᵀ for rows W [rows × ld] and G [k × ld] (ld = round8(k), zero past k)
__attribute__((always_inline)) inline void quadK(const float* W, int64_t rows, int64_t k, const float* G, float* sq) {
  dense::quadFormsT(W, rows, k, G, sq);
}
__attribute__((always_inline)) inline void quadK(const double* W, int64_t rows, int64_t k, const double* G, double* sq) {
  const int64_t ld = dense::round8(k);
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0;
    for (int64_t c = 0; c < k; ++c) s += W[r * ld + c] * dotK(G + c * ld, W + r * ld, k);
    sq[r] = s;
  }
}

// ---------------------------------------------------------------------------------------------------

template <class S> struct Args {
  int64_t X, n, k;
  const S *sim, *gram, *qm, *km;
  const int64_t* index;
  S *w, *Z, *q, *inv, *p;  // outputs of the forward, saved for the backward
  int64_t* argmin;
  // backward
  const S* dp;
  S *dsim, *dgram;
  const int64_t *groupStart, *groupProblems;  // CSR: the problems of each gram
  // per gram: its key extent (the largest of its problems') and its corner, zero-padded (cornerOf), at g · kStride
  const int64_t* gramExtent;
  const S* corners;
  int64_t kStride;
};

// 1 + the last real key of problem x (0 for none): keys past it carry no weight
template <class S> int64_t keyExtent(const Args<S>& a, int64_t x) {
  const S* real = a.km + x * a.k;
  for (int64_t j = a.k - 1; j >= 0; --j)
    if (real[j] != 0) return j + 1;
  return 0;
}

// w_t, Z_t and the argmin of lo_t for the row r = x·n + t
template <class S> void rowWeights(const Args<S>& a, int64_t r) {
  const int64_t k = a.k;
  const S *row = a.sim + r * k, *real = a.km + (r / a.n) * k;
  S* wr = a.w + r * k;
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
  a.Z[r] = static_cast<S>(z);
  a.argmin[r] = at;
}

// dsim of row r from dw (w = s / max(Z, 1e-30), s = sim − lo + δ on real keys, lo = the real minimum)
template <class S> void rowWeightsBackward(const Args<S>& a, int64_t r, const S* dr) {
  const int64_t k = a.k;
  const S *wr = a.w + r * k, *real = a.km + (r / a.n) * k;
  S* o = a.dsim + r * k;
  const double z = a.Z[r], zc = std::max(z, kMinSum);
  double dot = 0;  // Σ_j dw_j s_j = Zc · Σ_j dw_j w_j
  for (int64_t j = 0; j < k; ++j) dot += static_cast<double>(dr[j]) * wr[j];
  const double dZ = z > kMinSum ? -dot / zc : 0.0;
  double dlo = 0;
  for (int64_t j = 0; j < k; ++j) {
    const double ds = real[j] != 0 ? dr[j] / zc + dZ : 0.0;
    o[j] = static_cast<S>(ds);
    dlo -= ds;
  }
  if (a.argmin[r] >= 0) o[a.argmin[r]] = static_cast<S>(o[a.argmin[r]] + dlo);
}

// The same two row passes for float rows on 8-float vectors (the AVX2 path): the sums in float and in
// another order, the division as a multiplication by 1 / Z (agree with the tensor ops to float rounding).
__attribute__((always_inline)) inline void rowWeightsK(const Args<float>& a, int64_t r) {
  using namespace dense;
  const int64_t k = a.k, full = k / 8 * 8;
  const float *row = a.sim + r * k, *real = a.km + (r / a.n) * k;
  float* wr = a.w + r * k;
  const f8 zero = splat8(0.f), delta = splat8(static_cast<float>(kShift));
  f8 lo8 = splat8(std::numeric_limits<float>::infinity());
  for (int64_t c = 0; c < full; c += 8) {
    const f8 x = load8(row + c);
    lo8 = (load8(real + c) != zero) & (x < lo8) ? x : lo8;
  }
  float lo = hmin8(lo8);
  for (int64_t j = full; j < k; ++j)
    if (real[j] != 0 && row[j] < lo) lo = row[j];
  int64_t at = -1;
  for (int64_t j = 0; j < k && lo < std::numeric_limits<float>::infinity(); ++j)
    if (real[j] != 0 && row[j] == lo) { at = j; break; }
  const f8 lo_ = splat8(lo);
  f8 z8 = zero;
  for (int64_t c = 0; c < full; c += 8) {
    const f8 s = load8(real + c) != zero ? (load8(row + c) - lo_) + delta : zero;
    store8(wr + c, s);
    z8 += s;
  }
  float z = hsum8(z8);
  for (int64_t j = full; j < k; ++j) {
    wr[j] = real[j] != 0 ? (row[j] - lo) + static_cast<float>(kShift) : 0.f;
    z += wr[j];
  }
  const float scale = 1.f / std::max(z, static_cast<float>(kMinSum));
  const f8 scale8 = splat8(scale);
  for (int64_t c = 0; c < full; c += 8) store8(wr + c, load8(wr + c) * scale8);
  for (int64_t j = full; j < k; ++j) wr[j] *= scale;
  a.Z[r] = z;
  a.argmin[r] = at;
}
__attribute__((always_inline)) inline void rowWeightsK(const Args<double>& a, int64_t r) { rowWeights(a, r); }

__attribute__((always_inline)) inline void rowWeightsBackwardK(const Args<float>& a, int64_t r, const float* dr) {
  using namespace dense;
  const int64_t k = a.k, full = k / 8 * 8;
  const float *wr = a.w + r * k, *real = a.km + (r / a.n) * k;
  float* o = a.dsim + r * k;
  const float z = a.Z[r], scale = 1.f / std::max(z, static_cast<float>(kMinSum));
  const float dZ = z > static_cast<float>(kMinSum) ? -dotT(dr, wr, k) * scale : 0.f;
  const f8 zero = splat8(0.f), scale8 = splat8(scale), dZ8 = splat8(dZ);
  f8 sum8 = zero;
  for (int64_t c = 0; c < full; c += 8) {
    const f8 ds = load8(real + c) != zero ? load8(dr + c) * scale8 + dZ8 : zero;
    store8(o + c, ds);
    sum8 += ds;
  }
  float dlo = -hsum8(sum8);
  for (int64_t j = full; j < k; ++j) {
    o[j] = real[j] != 0 ? dr[j] * scale + dZ : 0.f;
    dlo -= o[j];
  }
  if (a.argmin[r] >= 0) o[a.argmin[r]] += dlo;
}
__attribute__((always_inline)) inline void rowWeightsBackwardK(const Args<double>& a, int64_t r, const double* dr) { rowWeightsBackward(a, r, dr); }

// Copies the kx × kx corner of a k × k matrix into G [kx × round8(kx)], zero-padded (sym: g + gᵀ).
template <class S> void cornerOf(const S* g, int64_t k, int64_t kx, bool sym, S* G) {
  const int64_t ld = dense::round8(kx);
  for (int64_t c = 0; c < kx; ++c) {
    for (int64_t l = 0; l < kx; ++l) G[c * ld + l] = sym ? g[c * k + l] + g[l * k + c] : g[c * k + l];
    std::fill(G + c * ld + kx, G + (c + 1) * ld, S(0));
  }
}

// The real rows of problem x (qm ≠ 0) into W [rows × round8(kx)], zero-padded; their indices into on.
template <class S> int64_t takeRows(const Args<S>& a, int64_t x, int64_t kx, S* W, int64_t* on) {
  const int64_t ld = dense::round8(kx);
  int64_t rows = 0;
  for (int64_t t = 0; t < a.n; ++t) {
    if (a.qm[x * a.n + t] == 0) continue;
    const S* wr = a.w + (x * a.n + t) * a.k;
    std::copy(wr, wr + kx, W + rows * ld);
    std::fill(W + rows * ld + kx, W + (rows + 1) * ld, S(0));
    on[rows++] = t;
  }
  return rows;
}

// Per gram: the largest key extent of the problems using it (exact for all of them: weights past a problem's
// own last real key are 0), and that corner of the gram (sym: gram + gramᵀ) zero-padded to a stride of 8.
template <class S> struct Corners {
  std::vector<int64_t> extent;
  std::vector<S> data;
  int64_t stride;
  Corners(const Args<S>& a, int64_t G, bool sym) : extent(G, 0), stride(a.k * dense::round8(a.k)) {
    for (int64_t x = 0; x < a.X; ++x) extent[a.index[x]] = std::max(extent[a.index[x]], keyExtent(a, x));
    data.resize(G * stride);
    for (int64_t g = 0; g < G; ++g) cornerOf(a.gram + g * a.k * a.k, a.k, extent[g], sym, data.data() + g * stride);
  }
  void into(Args<S>& a) const { a.gramExtent = extent.data(); a.corners = data.data(); a.kStride = stride; }
};

template <class S> struct Scratch {
  std::vector<S> W, sq, y, alpha, dw, acc;
  std::vector<int64_t> on;
  explicit Scratch(const Args<S>& a) {
    const int64_t ld = dense::round8(a.k);
    W.resize(a.n * ld); sq.resize(a.n); y.resize(ld); alpha.resize(a.n); dw.resize(a.k); acc.resize(a.k * ld); on.resize(a.n);
  }
};

template <class S> __attribute__((always_inline)) inline void forwardRange(const Args<S>& a, int64_t begin, int64_t end, Scratch<S>& s) {
  for (int64_t x = begin; x < end; ++x) {
    for (int64_t t = 0; t < a.n; ++t) rowWeightsK(a, x * a.n + t);
    const int64_t g = a.index[x], kx = a.gramExtent[g], ld = dense::round8(kx);
    S* p = a.p + x * a.k;
    std::fill(p, p + a.k, S(0));
    std::fill(a.q + x * a.n, a.q + (x + 1) * a.n, S(0));
    for (int64_t t = 0; t < a.n; ++t) a.inv[x * a.n + t] = static_cast<S>(a.qm[x * a.n + t] / std::sqrt(kMinSq));
    if (kx == 0) continue;  // no real key: every weight is 0, and so is p
    const int64_t rows = takeRows(a, x, kx, s.W.data(), s.on.data());
    quadK(s.W.data(), rows, kx, a.corners + g * a.kStride, s.sq.data());
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = x * a.n + s.on[r];
      const S q = s.sq[r], inv = static_cast<S>(a.qm[i] / std::sqrt(std::max<double>(q, kMinSq)));
      a.q[i] = q;
      a.inv[i] = inv;
      s.alpha[r] = inv;
    }
    combineK(p, s.alpha.data(), s.W.data(), ld, rows, kx);
  }
}

// The problems of gram groups [begin, end): dw = inv · dp + dq · w (gram + gramᵀ) per real row, then dsim;
// dgram = Σ over the group's problems and rows of dq_t w_tᵀ w_t.
template <class S> __attribute__((always_inline)) inline void backwardRange(const Args<S>& a, int64_t begin, int64_t end, Scratch<S>& s) {
  const int64_t k = a.k;
  for (int64_t g = begin; g < end; ++g) {
    S* dgram = a.dgram + g * k * k;
    std::fill(dgram, dgram + k * k, S(0));
    for (int64_t e = a.groupStart[g]; e < a.groupStart[g + 1]; ++e) {
      const int64_t x = a.groupProblems[e], kx = a.gramExtent[g], ld = dense::round8(kx);
      const S* dp = a.dp + x * k;
      // rows that carry no mass (padded queries, no real key) have dw = 0, so dsim = 0
      std::fill(a.dsim + x * a.n * k, a.dsim + (x + 1) * a.n * k, S(0));
      if (kx == 0) continue;
      const int64_t rows = takeRows(a, x, kx, s.W.data(), s.on.data());
      const S* Gsym = a.corners + g * a.kStride;
      std::fill(s.acc.begin(), s.acc.begin() + kx * ld, S(0));
      std::fill(s.dw.begin(), s.dw.end(), S(0));
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = x * a.n + s.on[r];
        const S* wr = s.W.data() + r * ld;
        const S inv = a.inv[i], q = a.q[i];
        // inv = qm · q^(-1/2) where q > 1e-24 (the clamp passes no gradient)
        const S dinv = dotK(wr, dp, kx);
        const S dq = q > kMinSq ? static_cast<S>(dinv * inv * -0.5 / q) : S(0);
        std::fill(s.y.begin(), s.y.begin() + ld, S(0));
        combineK(s.y.data(), wr, Gsym, ld, kx, ld);          // w_t (gram + gramᵀ)
        for (int64_t j = 0; j < kx; ++j) s.dw[j] = inv * dp[j] + dq * s.y[j];
        rowWeightsBackwardK(a, i, s.dw.data());
        s.alpha[r] = dq;
      }
      // acc[j] += Σ_r dq_r W_rj · W_r: row j of Wᵀ diag(dq) W
      std::vector<S>& col = s.sq;
      for (int64_t j = 0; j < kx; ++j) {
        for (int64_t r = 0; r < rows; ++r) col[r] = s.alpha[r] * s.W[r * ld + j];
        combineK(s.acc.data() + j * ld, col.data(), s.W.data(), ld, rows, kx);
      }
      for (int64_t j = 0; j < kx; ++j)
        for (int64_t l = 0; l < kx; ++l) dgram[j * k + l] += s.acc[j * ld + l];
    }
  }
}

__attribute__((target("avx2,fma"))) void forwardAvx2(const Args<float>& a, int64_t b, int64_t e, Scratch<float>& s) { forwardRange(a, b, e, s); }
void forwardBase(const Args<float>& a, int64_t b, int64_t e, Scratch<float>& s) { forwardRange(a, b, e, s); }
__attribute__((target("avx2,fma"))) void backwardAvx2(const Args<float>& a, int64_t b, int64_t e, Scratch<float>& s) { backwardRange(a, b, e, s); }
void backwardBase(const Args<float>& a, int64_t b, int64_t e, Scratch<float>& s) { backwardRange(a, b, e, s); }

bool hasAvx2Fma() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
void runForward(const Args<float>& a, int64_t b, int64_t e, Scratch<float>& s) { (hasAvx2Fma() ? forwardAvx2 : forwardBase)(a, b, e, s); }
void runBackward(const Args<float>& a, int64_t b, int64_t e, Scratch<float>& s) { (hasAvx2Fma() ? backwardAvx2 : backwardBase)(a, b, e, s); }
void runForward(const Args<double>& a, int64_t b, int64_t e, Scratch<double>& s) { forwardRange(a, b, e, s); }
void runBackward(const Args<double>& a, int64_t b, int64_t e, Scratch<double>& s) { backwardRange(a, b, e, s); }

// grain sizes: a problem is n·k² multiply-adds, usually tens of thousands
constexpr int64_t kGrain = 4;

void check(const at::Tensor& sim, const at::Tensor& gram, const at::Tensor& index, const at::Tensor& qm, const at::Tensor& km) {
  TORCH_CHECK(sim.dim() == 3, "sim must be [X, n, k]");
  const int64_t X = sim.size(0), n = sim.size(1), k = sim.size(2);
  TORCH_CHECK(gram.dim() == 3 && gram.size(1) == k && gram.size(2) == k, "gram must be [G, k, k]");
  TORCH_CHECK(index.dim() == 1 && index.size(0) == X && index.scalar_type() == at::kLong, "index must be int64 [X]");
  if (X > 0) {
    const auto range = at::aminmax(index);
    TORCH_CHECK(std::get<0>(range).item<int64_t>() >= 0 && std::get<1>(range).item<int64_t>() < gram.size(0), "index must pick grams in [0, G)");
  }
  TORCH_CHECK(qm.dim() == 2 && qm.size(0) == X && qm.size(1) == n, "qm must be [X, n]");
  TORCH_CHECK(km.dim() == 2 && km.size(0) == X && km.size(1) == k, "km must be [X, k]");
  TORCH_CHECK(sim.scalar_type() == at::kFloat || sim.scalar_type() == at::kDouble, "sim must be float32 or float64");
  for (const at::Tensor* t : {&gram, &qm, &km}) TORCH_CHECK(t->scalar_type() == sim.scalar_type(), "all inputs but index must have sim's dtype");
}

struct GroupedPoolWeights : public torch::autograd::Function<GroupedPoolWeights> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& sim, const at::Tensor& gram, const at::Tensor& index,
                            const at::Tensor& qm, const at::Tensor& km) {
    RECORD_FUNCTION("orma::groupedPoolWeights", std::vector<c10::IValue>());  // named in profiles (profiler.cc)
    at::AutoDispatchBelowADInplaceOrView belowAutograd;
    const at::Tensor s = sim.contiguous(), g = gram.contiguous(), ix = index.contiguous(), qc = qm.contiguous(), m = km.contiguous();
    const int64_t X = s.size(0), n = s.size(1), k = s.size(2);
    at::Tensor w = at::empty_like(s), Z = at::empty({X, n}, s.options()), q = at::empty({X, n}, s.options()), inv = at::empty({X, n}, s.options());
    at::Tensor argmin = at::empty({X, n}, s.options().dtype(at::kLong)), p = at::empty({X, k}, s.options());
    AT_DISPATCH_FLOATING_TYPES(s.scalar_type(), "groupedPoolWeights", [&] {
      Args<scalar_t> a{X, n, k, s.data_ptr<scalar_t>(), g.data_ptr<scalar_t>(), qc.data_ptr<scalar_t>(), m.data_ptr<scalar_t>(), ix.data_ptr<int64_t>(),
                       w.data_ptr<scalar_t>(), Z.data_ptr<scalar_t>(), q.data_ptr<scalar_t>(), inv.data_ptr<scalar_t>(), p.data_ptr<scalar_t>(),
                       argmin.data_ptr<int64_t>(), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 0};
      const Corners<scalar_t> corners(a, g.size(0), false);
      corners.into(a);
      at::parallel_for(0, X, kGrain, [&](int64_t begin, int64_t end) {
        Scratch<scalar_t> scratch(a);
        runForward(a, begin, end, scratch);
      });
    });
    ctx->save_for_backward({w, Z, argmin, qc, m, g, ix, q, inv});
    return p;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto v = ctx->get_saved_variables();
    const at::Tensor &w = v[0], &Z = v[1], &argmin = v[2], &qm = v[3], &m = v[4], &g = v[5], &ix = v[6], &q = v[7], &inv = v[8];
    const at::Tensor dp = grads[0].contiguous();
    const int64_t X = w.size(0), n = w.size(1), k = w.size(2), G = g.size(0);
    // CSR of the problems of each gram, in problem order (a fixed summation order: deterministic dgram)
    std::vector<int64_t> start(G + 1, 0), problems(X);
    const int64_t* ip = ix.data_ptr<int64_t>();
    for (int64_t x = 0; x < X; ++x) ++start[ip[x] + 1];
    for (int64_t i = 0; i < G; ++i) start[i + 1] += start[i];
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (int64_t x = 0; x < X; ++x) problems[fill[ip[x]]++] = x;
    at::Tensor dsim = at::empty_like(w), dgram = at::empty_like(g);
    AT_DISPATCH_FLOATING_TYPES(w.scalar_type(), "groupedPoolWeightsBackward", [&] {
      using S = scalar_t;
      Args<S> a{X, n, k, nullptr, g.data_ptr<S>(), qm.data_ptr<S>(), m.data_ptr<S>(), ip, w.data_ptr<S>(), Z.data_ptr<S>(), q.data_ptr<S>(), inv.data_ptr<S>(),
                nullptr, argmin.data_ptr<int64_t>(), dp.data_ptr<S>(), dsim.data_ptr<S>(), dgram.data_ptr<S>(), start.data(), problems.data(),
                nullptr, nullptr, 0};
      const Corners<S> corners(a, G, true);
      corners.into(a);
      at::parallel_for(0, G, 1, [&](int64_t begin, int64_t end) {
        Scratch<S> scratch(a);
        runBackward(a, begin, end, scratch);
      });
    });
    return {dsim, dgram, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

Napi::Value groupedPoolWeights(const Napi::CallbackInfo& info) {
  const at::Tensor& sim = T(info, 0);
  const at::Tensor& gram = T(info, 1);
  const at::Tensor index = T(info, 2).detach();
  const at::Tensor qm = T(info, 3).detach();
  const at::Tensor km = T(info, 4).detach();
  check(sim, gram, index, qm, km);
  return wrap(info.Env(), GroupedPoolWeights::apply(sim, gram, index, qm, km));
}

}  // namespace

void registerGrouped(Napi::Env env, Napi::Object exports) {
  registerOp(env, exports, "groupedPoolWeights", groupedPoolWeights);
}

}  // namespace orma
