// Kernels of the pool scorer (pool.cc): plain C++, no libtorch, so this file compiles in seconds.
//
// 1. IPOT over lanes: W problems solved at once, one problem per SIMD lane. Every lane runs exactly the
//    arithmetic of the scalar kernel (ot.cc `ipotPlan`: float kernel and plan, double marginal updates,
//    the same order of every sum), so each lane's plan is bit-identical to the scalar kernel's plan of
//    that problem; W = 8 (AVX-512), 4 (AVX2) or 2 (SSE2) problems share each instruction. Contraction
//    into FMA would change the rounding, so it is off in that section. Rows of padding (a_i = 0) change
//    nothing in a lane (they add exact zeros), columns would (σ₀ = 1/m): lanes may differ in their
//    number of rows, never in their number of columns.
// 2. The dense per-pair math of the grouped (SPARC-style) score and of the mid grain after the plan,
//    each pair in cache from start to end (the tensor-op version makes ~30 passes over
//    [texts, molecules, tokens, keys] tensors in memory). Compiled twice: AVX2 + FMA, and baseline.
//    Sums are reordered here: these agree with the tensor ops to float rounding, not bit for bit.
#include "pool_kernels.h"
#include "dense.h"
#include <immintrin.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

// Vectors wider than the baseline's pass through always-inlined helpers only: no call passes them by value.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace orma {
namespace pool {
using namespace dense;

// ----------------------------------------------------------------------------------------------
// IPOT lanes (no FMA: the lanes must round as the scalar kernel does)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 on the masked forms inside _mm512_cvt*

template <int W> struct Lanes;
// Not always_inline: these inline once ipotCore<W> is inside its AVX-512 / AVX2 caller (GCC 12 splits
// __builtin_convertvector between float and double vectors into halves).
template <> struct Lanes<8> {
  typedef float F __attribute__((vector_size(32)));
  typedef double V __attribute__((vector_size(64)));
  __attribute__((target("avx512f"))) static inline V widen(F x) { return (V)_mm512_cvtps_pd((__m256)x); }
  __attribute__((target("avx512f"))) static inline F narrow(V x) { return (F)_mm512_cvtpd_ps((__m512d)x); }
};
template <> struct Lanes<4> {
  typedef float F __attribute__((vector_size(16)));
  typedef double V __attribute__((vector_size(32)));
  __attribute__((target("avx"))) static inline V widen(F x) { return (V)_mm256_cvtps_pd((__m128)x); }
  __attribute__((target("avx"))) static inline F narrow(V x) { return (F)_mm256_cvtpd_ps((__m256d)x); }
};
template <> struct Lanes<2> {
  typedef float F __attribute__((vector_size(8)));
  typedef double V __attribute__((vector_size(16)));
  __attribute__((always_inline)) static inline V widen(F x) { return V{x[0], x[1]}; }
  __attribute__((always_inline)) static inline F narrow(V x) { return F{static_cast<float>(x[0]), static_cast<float>(x[1])}; }
};
template <> struct Lanes<1> {
  typedef float F;
  typedef double V;
  __attribute__((always_inline)) static inline V widen(F x) { return x; }
  __attribute__((always_inline)) static inline F narrow(V x) { return static_cast<float>(x); }
};

// A [n·m] kernel entries exp(−C/β) (0 where a_i · b_j = 0), a [n], b [m] marginals (float, as the scalar
// kernel reads them), lane-interleaved; plan [n·m] receives the plans. Q [n·m], delta [n], sigma, colSum [m]:
// scratch. The scalar kernel's iteration (Q = A ⊙ Π, δ = a / (Qσ + ε), σ = b / (Qᵀδ + ε), Π = δ Q σ) is
// fused into one pass per iteration: row i forms Π_i of the previous iteration, Q_i and its row sum, δ_i,
// then adds its share to the column sums (in row order, as the scalar kernel's second pass does). Q is kept
// in double: the float product widened, which is exact, so it rounds as the scalar kernel's float Q.
template <int W>
__attribute__((always_inline)) inline void ipotCore(int64_t n, int64_t m, int64_t iterations, const typename Lanes<W>::F* A,
                                                    const typename Lanes<W>::F* a, const typename Lanes<W>::F* b,
                                                    typename Lanes<W>::F* plan, typename Lanes<W>::V* Q, typename Lanes<W>::V* delta,
                                                    typename Lanes<W>::V* sigma, typename Lanes<W>::V* colSum) {
  typedef Lanes<W> L;
  typedef typename L::F F;
  typedef typename L::V V;
  const double eps = 1e-8;
  const V zero = V{} * 0.0;
  if (iterations <= 0) {
    for (int64_t e = 0; e < n * m; ++e) plan[e] = F{} * 0.f + 1.f;
    return;
  }
  for (int64_t j = 0; j < m; ++j) sigma[j] = zero + 1.0 / static_cast<double>(m);
  for (int64_t it = 0; it < iterations; ++it) {
    for (int64_t j = 0; j < m; ++j) colSum[j] = zero;
    for (int64_t i = 0; i < n; ++i) {
      const F* Ai = A + i * m;
      V* Qi = Q + i * m;
      V rowSum = zero;
      if (it == 0) {
        for (int64_t j = 0; j < m; ++j) {  // Π₀ = 1: Q = A · 1 = A
          const V q = L::widen(Ai[j]);
          Qi[j] = q;
          rowSum += q * sigma[j];
        }
      } else {
        const V d = delta[i];
        for (int64_t j = 0; j < m; ++j) {
          const F p = L::narrow(d * Qi[j] * sigma[j]);  // Π of the previous iteration
          const V q = L::widen(Ai[j] * p);
          Qi[j] = q;
          rowSum += q * sigma[j];
        }
      }
      const V d = L::widen(a[i]) / (rowSum + eps);
      delta[i] = d;
      for (int64_t j = 0; j < m; ++j) colSum[j] += Qi[j] * d;
    }
    for (int64_t j = 0; j < m; ++j) sigma[j] = L::widen(b[j]) / (colSum[j] + eps);
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) plan[i * m + j] = L::narrow(delta[i] * Q[i * m + j] * sigma[j]);
}

// ipotCore with the motif count M known at compile time (the common M ≤ 16): σ, the column sums and a row
// of Q live in registers, and the j loops unroll. The same operations in the same order as ipotCore.
template <int W, int M>
__attribute__((always_inline)) inline void ipotCoreFixed(int64_t n, int64_t iterations, const typename Lanes<W>::F* A,
                                                         const typename Lanes<W>::F* a, const typename Lanes<W>::F* b,
                                                         typename Lanes<W>::F* plan, typename Lanes<W>::V* Q, typename Lanes<W>::V* delta) {
  typedef Lanes<W> L;
  typedef typename L::F F;
  typedef typename L::V V;
  const double eps = 1e-8;
  const V zero = V{} * 0.0;
  V sigma[M], colSum[M], q[M];
  #pragma GCC unroll 16
  for (int j = 0; j < M; ++j) sigma[j] = zero + 1.0 / static_cast<double>(M);
  for (int64_t it = 0; it < iterations; ++it) {
    #pragma GCC unroll 16
    for (int j = 0; j < M; ++j) colSum[j] = zero;
    for (int64_t i = 0; i < n; ++i) {
      const F* Ai = A + i * M;
      V* Qi = Q + i * M;
      V rowSum = zero;
      if (it == 0) {
        #pragma GCC unroll 16
        for (int j = 0; j < M; ++j) {
          q[j] = L::widen(Ai[j]);
          rowSum += q[j] * sigma[j];
        }
      } else {
        const V d = delta[i];
        #pragma GCC unroll 16
        for (int j = 0; j < M; ++j) {
          const F p = L::narrow(d * Qi[j] * sigma[j]);
          q[j] = L::widen(Ai[j] * p);
          rowSum += q[j] * sigma[j];
        }
      }
      const V d = L::widen(a[i]) / (rowSum + eps);
      delta[i] = d;
      #pragma GCC unroll 16
      for (int j = 0; j < M; ++j) {
        Qi[j] = q[j];
        colSum[j] += q[j] * d;
      }
    }
    #pragma GCC unroll 16
    for (int j = 0; j < M; ++j) sigma[j] = L::widen(b[j]) / (colSum[j] + eps);
  }
  for (int64_t i = 0; i < n; ++i)
    #pragma GCC unroll 16
    for (int j = 0; j < M; ++j) plan[i * M + j] = L::narrow(delta[i] * Q[i * M + j] * sigma[j]);
}

template <int W>
__attribute__((always_inline)) inline void ipotLanesT(int64_t n, int64_t m, int64_t iterations, const float* A, const float* a,
                                                      const float* b, float* plan, double* scratch) {
  typedef Lanes<W> L;
  typedef typename L::F F;
  typedef typename L::V V;
  V* Q = reinterpret_cast<V*>(scratch);
  const F* Af = reinterpret_cast<const F*>(A);
  const F* af = reinterpret_cast<const F*>(a);
  const F* bf = reinterpret_cast<const F*>(b);
  F* pf = reinterpret_cast<F*>(plan);
  if (iterations > 0) switch (m) {
#define ORMA_FIXED(M) \
  case M: return ipotCoreFixed<W, M>(n, iterations, Af, af, bf, pf, Q, Q + n * M);
    ORMA_FIXED(1) ORMA_FIXED(2) ORMA_FIXED(3) ORMA_FIXED(4) ORMA_FIXED(5) ORMA_FIXED(6) ORMA_FIXED(7) ORMA_FIXED(8)
    ORMA_FIXED(9) ORMA_FIXED(10) ORMA_FIXED(11) ORMA_FIXED(12) ORMA_FIXED(13) ORMA_FIXED(14) ORMA_FIXED(15) ORMA_FIXED(16)
#undef ORMA_FIXED
    default: break;
  }
  ipotCore<W>(n, m, iterations, Af, af, bf, pf, Q, Q + n * m, Q + n * m + n, Q + n * m + n + m);
}

__attribute__((target("avx512f"))) static void ipotLanes8(int64_t n, int64_t m, int64_t it, const float* A, const float* a, const float* b, float* p, double* s) {
  ipotLanesT<8>(n, m, it, A, a, b, p, s);
}
__attribute__((target("avx2"))) static void ipotLanes4(int64_t n, int64_t m, int64_t it, const float* A, const float* a, const float* b, float* p, double* s) {
  ipotLanesT<4>(n, m, it, A, a, b, p, s);
}
static void ipotLanes2(int64_t n, int64_t m, int64_t it, const float* A, const float* a, const float* b, float* p, double* s) {
  ipotLanesT<2>(n, m, it, A, a, b, p, s);
}
static void ipotLanes1(int64_t n, int64_t m, int64_t it, const float* A, const float* a, const float* b, float* p, double* s) {
  ipotLanesT<1>(n, m, it, A, a, b, p, s);
}

#pragma GCC diagnostic pop
#pragma GCC pop_options

int maxLanes() {
  static const int w = __builtin_cpu_supports("avx512f") ? 8 : __builtin_cpu_supports("avx2") ? 4 : 2;
  return w;
}

int lanesFor(int problems) {
  const int most = maxLanes();
  int w = 1;
  while (w < problems && w < most) w *= 2;
  return w;
}

// W ∈ {1, 2, 4, 8} lanes (W ≤ maxLanes()); buffers lane-interleaved and 64-byte aligned: A and plan [n·m·W]
// floats, a [n·W], b [m·W]; scratch (n·m + n + 2m)·W doubles.
void ipotLanes(int W, int64_t n, int64_t m, int64_t iterations, const float* A, const float* a, const float* b, float* plan, double* scratch) {
  switch (W) {
    case 8: ipotLanes8(n, m, iterations, A, a, b, plan, scratch); break;
    case 4: ipotLanes4(n, m, iterations, A, a, b, plan, scratch); break;
    case 2: ipotLanes2(n, m, iterations, A, a, b, plan, scratch); break;
    default: ipotLanes1(n, m, iterations, A, a, b, plan, scratch); break;
  }
}

// ----------------------------------------------------------------------------------------------
// Dense per-pair math (the vector helpers are in dense.h)

// Scratch floats groupedVectorT needs for nq queries and k keys.
inline int64_t groupedScratch(int64_t nq, int64_t k) { return (nq + 1) * round8(k) + round8(nq) + 16; }

// The grouped vector v = LN₀(Σ_t norm(G_t)) of one pair (scores.ts `groupedKeyVectors`): sim [nq × k]
// (row stride ldSim) of the pair's queries against its k real keys; queries with on[t] = 0 are left out
// (on = null: all in); G the keys' gram padded to [k × k8] (padGram); keys [k × D]. Scratch:
// groupedScratch(nq, k) floats. With k = 0, v = 0 (no key: every weight is 0).
__attribute__((always_inline)) inline void groupedVectorT(const float* sim, int64_t ldSim, int64_t nq, const unsigned char* on, int64_t k,
                                                          const float* G, const float* keys, int64_t D, float* v, float* scratch) {
  std::fill(v, v + D, 0.f);
  if (k == 0) return;
  const int64_t k8 = round8(k), full = k / 8 * 8;
  float* W = scratch;                 // [nq × k8] weights of the queries taken
  float* pooled = W + nq * k8;        // [k8]
  float* tail = pooled + k8;          // [8]
  float* sq = tail + 8;               // [nq]
  std::fill(pooled, pooled + k8, 0.f);
  const float inf = std::numeric_limits<float>::infinity();
  const i8 lane = i8{0, 1, 2, 3, 4, 5, 6, 7};
  const f8 delta = splat8(1e-6f), zero = splat8(0.f);
  int64_t rows = 0;
  for (int64_t t = 0; t < nq; ++t) {
    if (on && !on[t]) continue;
    const float* s = sim + t * ldSim;
    float* w = W + rows++ * k8;
    // min-max over the real keys, then W = S / ΣS (the max cancels: scores.ts)
    for (int64_t c = 0; c < full; c += 8) store8(w + c, load8(s + c));
    if (full < k8) {
      store8(tail, splat8(inf));
      std::memcpy(tail, s + full, (k - full) * sizeof(float));
      store8(w + full, load8(tail));
    }
    f8 lo8 = load8(w);
    for (int64_t c = 8; c < k8; c += 8) { const f8 x = load8(w + c); lo8 = x < lo8 ? x : lo8; }
    const f8 lo_ = splat8(hmin8(lo8));
    f8 total8 = zero;
    for (int64_t c = 0; c < k8; c += 8) {
      f8 x = (load8(w + c) - lo_) + delta;
      x = (lane + static_cast<int32_t>(c)) < static_cast<int32_t>(k) ? x : zero;
      store8(w + c, x);
      total8 += x;
    }
    const f8 den = splat8(std::max(hsum8(total8), 1e-30f));
    for (int64_t c = 0; c < k8; c += 8) store8(w + c, load8(w + c) / den);
  }
  // ‖G_t‖² = w_t Gram w_tᵀ, then Σ_t w_t / ‖G_t‖
  quadFormsT(W, rows, k, G, sq);
  for (int64_t t = 0; t < rows; ++t) {
    const f8 inv = splat8(1.0f / std::sqrt(std::max(sq[t], 1e-24f)));
    const float* w = W + t * k8;
    for (int64_t c = 0; c < k8; c += 8) store8(pooled + c, load8(pooled + c) + inv * load8(w + c));
  }
  combineRowsT(v, pooled, keys, D, k, D);
  ln0T(v, D);
}

__attribute__((always_inline)) inline float pairScoreT(const float* u, const float* v, int64_t D, bool cosine) {
  const float uv = dotT(u, v, D);
  if (!cosine) return uv;
  const float nu = std::max(std::sqrt(dotT(u, u, D)), 1e-12f), nv = std::max(std::sqrt(dotT(v, v, D)), 1e-12f);
  return (uv / nu) / nv;
}

// Local-grain pairs p in [begin, end), molecule-major (molecule j = p / A, text a = p % A), out[a·B + j]:
// text a's tokens are sim rows rows[a]..rows[a+1], molecule j's atoms the columns and keys rows cols[j]..cols[j+1],
// its k × k gram at grams + gramAt[j]; u[a] the text's pooled vector LN₀(Σ norm(token)).
__attribute__((always_inline)) inline void localPairsT(int64_t begin, int64_t end, int64_t A, int64_t B, const float* S, int64_t C,
                                                       const int64_t* rows, const int64_t* cols, const float* keys, int64_t D,
                                                       const float* grams, const int64_t* gramAt, const float* u, bool cosine, float* out) {
  Buffer<float> gbuf, scratch;
  int64_t cur = -1, k = 0;
  float* G = nullptr;
  for (int64_t p = begin; p < end; ++p) {
    const int64_t j = p / A, a = p % A;
    if (j != cur) {
      cur = j;
      k = cols[j + 1] - cols[j];
      G = gbuf.get(std::max<int64_t>(1, k * round8(k)));
      padGram(grams + gramAt[j], k, G);
    }
    float* sc = scratch.get(D + groupedScratch(rows[a + 1] - rows[a], k));
    float* v = sc;
    groupedVectorT(S + rows[a] * C + cols[j], C, rows[a + 1] - rows[a], nullptr, k, G, keys + cols[j] * D, D, v, sc + D);
    out[a * B + j] = k == 0 ? 0.f : pairScoreT(u + a * D, v, D, cosine);
  }
}

// Token → motif assignments of the lanes of a plan [n·m·W] (lane-interleaved): per lane and real token, the
// first motif whose mass is within a relative `tolerance` of the largest (official: smallest) one, a NaN
// counting as the extreme: src/model/ot.ts assignTokens, whose comment says why near-ties go to the first
// motif and whose OT_TIE_TOLERANCE the caller passes. assign[l·n + i] for lanes l < count and tokens i < ns[l].

__attribute__((always_inline)) inline void assignLanes(const float* plan, int W, int count, const int64_t* ns, int64_t n, int64_t m, bool argmin,
                                                       float tolerance, int32_t* assign) {
  const float slack = argmin ? 1.f + tolerance : 1.f - tolerance;
  if (W == 8) {
    for (int64_t i = 0; i < n; ++i) {
      const float* row = plan + i * m * 8;
      f8 best = load8(row);
      for (int64_t j = 1; j < m; ++j) {
        const f8 x = load8(row + j * 8);
        best = (((argmin ? x < best : x > best) | (x != x)) & (best == best)) ? x : best;
      }
      const f8 bar = best * slack;   // NaN when the row has one: then only a NaN qualifies
      i8 at = i8{} * 0;
      for (int64_t j = m - 1; j >= 0; --j) {   // downwards: the first qualifying motif is written last
        const f8 x = load8(row + j * 8);
        at = ((argmin ? x <= bar : x >= bar) | (x != x)) ? (i8{} * 0 + static_cast<int32_t>(j)) : at;
      }
      for (int l = 0; l < count; ++l) if (i < ns[l]) assign[l * n + i] = at[l];
    }
    return;
  }
  for (int l = 0; l < count; ++l) {
    for (int64_t i = 0; i < ns[l]; ++i) {
      const float* row = plan + i * m * W + l;
      float best = row[0];
      for (int64_t j = 1; j < m && !std::isnan(best); ++j) {
        const float x = row[j * W];
        if (std::isnan(x) || (argmin ? x < best : x > best)) best = x;
      }
      const float bar = best * slack;
      int32_t at = 0;
      for (int64_t j = 0; j < m; ++j) {
        const float x = row[j * W];
        if (std::isnan(x) || (argmin ? x <= bar : x >= bar)) { at = static_cast<int32_t>(j); break; }
      }
      assign[l * n + i] = at;
    }
  }
}

// One mid-grain pair after its plan: assign[i] the motif of each of the n real tokens, m real motifs; X [n × D]
// the text's multi-token vectors (not normalised), motifs [m × D], gram [m × m]. A motif's phrase is the mean
// of its tokens; u = LN₀(Σ norm(phrase)), v = the grouped vector of the phrases over the motifs.
__attribute__((always_inline)) inline float midPairT(const int32_t* assign, int64_t n, int64_t m, const float* X, const float* motifs,
                                                     const float* gram, int64_t D, bool cosine, float* scratch, unsigned char* on) {
  const int64_t m8 = round8(m);
  float* phrases = scratch;            // [m × D]
  float* sim = phrases + m * D;        // [m × m]
  float* counts = sim + m * m;         // [m]
  float* u = counts + m;               // [D]
  float* v = u + D;                    // [D]
  float* G = v + D;                    // [m × m8]
  float* rest = G + m * m8;            // groupedScratch(m, m)
  std::fill(phrases, phrases + m * D, 0.f);
  std::fill(counts, counts + m, 0.f);
  for (int64_t i = 0; i < n; ++i) {
    axpyT(phrases + assign[i] * D, 1.0f, X + i * D, D);
    counts[assign[i]] += 1.f;
  }
  std::fill(u, u + D, 0.f);
  for (int64_t j = 0; j < m; ++j) {
    on[j] = counts[j] > 0;
    if (!on[j]) continue;
    float* p = phrases + j * D;
    const f8 c = splat8(counts[j]);
    int64_t d = 0;
    for (; d + 8 <= D; d += 8) store8(p + d, load8(p + d) / c);
    for (; d < D; ++d) p[d] /= counts[j];
    axpyT(u, 1.0f / std::max(std::sqrt(dotT(p, p, D)), 1e-12f), p, D);
  }
  ln0T(u, D);
  for (int64_t j = 0; j < m; ++j) {
    if (!on[j]) continue;
    for (int64_t c = 0; c < m; ++c) sim[j * m + c] = dotT(phrases + j * D, motifs + c * D, D);
  }
  padGram(gram, m, G);
  groupedVectorT(sim, m, m, on, m, G, motifs, D, v, rest);
  return pairScoreT(u, v, D, cosine);
}

// A lane group of mid-grain pairs sharing their motif count: IPOT for all of them at once, then the token →
// motif assignment of each (as[l·n + i] for lane l's real tokens i; n, the group's longest text, returned).
// ST [C × R]: unit motif · unit multi-token products, motif rows by token columns.
__attribute__((always_inline)) inline int64_t midAssignT(int W, const int64_t* pairs, int count, int64_t B, const int64_t* rows, const int64_t* cols,
                                                         const float* ST, int64_t R, float beta, int64_t iterations, bool argmin, float tolerance,
                                                         int64_t* ns, Buffer<int32_t>& assign) {
  thread_local Buffer<float> Abuf, abuf, bbuf, plbuf;
  thread_local Buffer<double> dscratch;
  const int64_t m = cols[pairs[0] % B + 1] - cols[pairs[0] % B];
  int64_t n = 0;
  for (int l = 0; l < count; ++l) n = std::max(n, rows[pairs[l] / B + 1] - rows[pairs[l] / B]);
  float* Ab = Abuf.get(n * m * W);
  float* ab = abuf.get(n * W);
  float* bb = bbuf.get(m * W);
  float* plb = plbuf.get(n * m * W);
  for (int l = 0; l < W; ++l) {
    const int64_t p = pairs[std::min(l, count - 1)];  // spare lanes repeat the last pair
    const int64_t a = p / B, j = p % B, nl = rows[a + 1] - rows[a];
    // marginals as scores.ts makes them: 1 / (real count) in float32; rows beyond this text get 0
    const float ai = 1.0f / static_cast<float>(nl), bj = 1.0f / static_cast<float>(m);
    const bool mass = ai * bj != 0;
    for (int64_t c = 0; c < m; ++c) bb[c * W + l] = bj;
    for (int64_t i = 0; i < n; ++i) ab[i * W + l] = i < nl ? ai : 0.f;
    // the OT cost 1 − cos, read motif by motif: ST is [motif rows, token rows], so a motif's tokens are contiguous
    for (int64_t c = 0; c < m; ++c) {
      const float* col = ST + (cols[j] + c) * R + rows[a];
      for (int64_t i = 0; i < n; ++i) Ab[(i * m + c) * W + l] = i < nl && mass ? std::exp(-(1.0f - col[i]) / beta) : 0.f;
    }
  }
  ipotLanes(W, n, m, iterations, Ab, ab, bb, plb, dscratch.get((n * m + n + 2 * m) * W));
  for (int l = 0; l < count; ++l) ns[l] = rows[pairs[l] / B + 1] - rows[pairs[l] / B];
  assignLanes(plb, W, count, ns, n, m, argmin, tolerance, assign.get(count * n));
  return n;
}

// A lane group of mid-grain pairs: their assignments (midAssignT), then each pair's score.
__attribute__((always_inline)) inline void midGroupT(int W, const int64_t* pairs, int count, int64_t B, const int64_t* rows, const int64_t* cols,
                                                     const float* ST, int64_t R, const float* X, const float* motifs, int64_t D, const float* grams,
                                                     const int64_t* gramAt, float beta, int64_t iterations, bool argmin, float tolerance, bool cosine, float* out) {
  thread_local Buffer<float> scratch;
  thread_local Buffer<int32_t> assign;
  thread_local Buffer<unsigned char> on;
  int64_t ns[8];
  const int64_t n = midAssignT(W, pairs, count, B, rows, cols, ST, R, beta, iterations, argmin, tolerance, ns, assign);
  const int64_t m = cols[pairs[0] % B + 1] - cols[pairs[0] % B], m8 = round8(m);
  float* sc = scratch.get(m * D + m * m + m + 2 * D + m * m8 + groupedScratch(m, m));
  for (int l = 0; l < count; ++l) {
    const int64_t p = pairs[l], a = p / B, j = p % B;
    out[a * B + j] = midPairT(assign.p + l * n, ns[l], m, X + rows[a] * D, motifs + cols[j] * D, grams + gramAt[j], D, cosine, sc, on.get(m));
  }
}

// The assignments alone, into out[p · N + i] for each pair p of the group and real token i.
__attribute__((always_inline)) inline void midAssignGroupT(int W, const int64_t* pairs, int count, int64_t B, const int64_t* rows, const int64_t* cols,
                                                           const float* ST, int64_t R, float beta, int64_t iterations, bool argmin, float tolerance,
                                                           int32_t* out, int64_t N) {
  thread_local Buffer<int32_t> assign;
  int64_t ns[8];
  const int64_t n = midAssignT(W, pairs, count, B, rows, cols, ST, R, beta, iterations, argmin, tolerance, ns, assign);
  for (int l = 0; l < count; ++l) std::copy(assign.p + l * n, assign.p + l * n + ns[l], out + pairs[l] * N);
}

__attribute__((target("avx2,fma"))) static void localPairsAvx2(int64_t begin, int64_t end, int64_t A, int64_t B, const float* S, int64_t C,
                                                               const int64_t* rows, const int64_t* cols, const float* keys, int64_t D,
                                                               const float* grams, const int64_t* gramAt, const float* u, bool cosine, float* out) {
  localPairsT(begin, end, A, B, S, C, rows, cols, keys, D, grams, gramAt, u, cosine, out);
}
static void localPairsBase(int64_t begin, int64_t end, int64_t A, int64_t B, const float* S, int64_t C, const int64_t* rows, const int64_t* cols,
                           const float* keys, int64_t D, const float* grams, const int64_t* gramAt, const float* u, bool cosine, float* out) {
  localPairsT(begin, end, A, B, S, C, rows, cols, keys, D, grams, gramAt, u, cosine, out);
}
__attribute__((target("avx2,fma"))) static void midGroupAvx2(int W, const int64_t* pairs, int count, int64_t B, const int64_t* rows,
                                                             const int64_t* cols, const float* ST, int64_t R, const float* X, const float* motifs,
                                                             int64_t D, const float* grams, const int64_t* gramAt, float beta, int64_t iterations,
                                                             bool argmin, float tolerance, bool cosine, float* out) {
  midGroupT(W, pairs, count, B, rows, cols, ST, R, X, motifs, D, grams, gramAt, beta, iterations, argmin, tolerance, cosine, out);
}
static void midGroupBase(int W, const int64_t* pairs, int count, int64_t B, const int64_t* rows, const int64_t* cols, const float* ST, int64_t R,
                         const float* X, const float* motifs, int64_t D, const float* grams, const int64_t* gramAt, float beta, int64_t iterations,
                         bool argmin, float tolerance, bool cosine, float* out) {
  midGroupT(W, pairs, count, B, rows, cols, ST, R, X, motifs, D, grams, gramAt, beta, iterations, argmin, tolerance, cosine, out);
}

__attribute__((target("avx2,fma"))) static void midAssignGroupAvx2(int W, const int64_t* pairs, int count, int64_t B, const int64_t* rows,
                                                                   const int64_t* cols, const float* ST, int64_t R, float beta, int64_t iterations,
                                                                   bool argmin, float tolerance, int32_t* out, int64_t N) {
  midAssignGroupT(W, pairs, count, B, rows, cols, ST, R, beta, iterations, argmin, tolerance, out, N);
}
static void midAssignGroupBase(int W, const int64_t* pairs, int count, int64_t B, const int64_t* rows, const int64_t* cols, const float* ST, int64_t R,
                               float beta, int64_t iterations, bool argmin, float tolerance, int32_t* out, int64_t N) {
  midAssignGroupT(W, pairs, count, B, rows, cols, ST, R, beta, iterations, argmin, tolerance, out, N);
}

static bool hasAvx2Fma() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}

void localPairs(int64_t begin, int64_t end, int64_t A, int64_t B, const float* S, int64_t C, const int64_t* rows, const int64_t* cols,
                const float* keys, int64_t D, const float* grams, const int64_t* gramAt, const float* u, bool cosine, float* out) {
  (hasAvx2Fma() ? localPairsAvx2 : localPairsBase)(begin, end, A, B, S, C, rows, cols, keys, D, grams, gramAt, u, cosine, out);
}

void midGroup(int W, const int64_t* pairs, int count, int64_t B, const int64_t* rows, const int64_t* cols, const float* ST, int64_t R,
              const float* X, const float* motifs, int64_t D, const float* grams, const int64_t* gramAt, float beta, int64_t iterations,
              bool argmin, float tolerance, bool cosine, float* out) {
  (hasAvx2Fma() ? midGroupAvx2 : midGroupBase)(W, pairs, count, B, rows, cols, ST, R, X, motifs, D, grams, gramAt, beta, iterations, argmin, tolerance, cosine,
                                               out);
}

void midAssignGroup(int W, const int64_t* pairs, int count, int64_t B, const int64_t* rows, const int64_t* cols, const float* ST, int64_t R,
                    float beta, int64_t iterations, bool argmin, float tolerance, int32_t* out, int64_t N) {
  (hasAvx2Fma() ? midAssignGroupAvx2 : midAssignGroupBase)(W, pairs, count, B, rows, cols, ST, R, beta, iterations, argmin, tolerance, out, N);
}

}  // namespace pool
}  // namespace orma
