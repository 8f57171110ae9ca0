// Dense float helpers on 8-float vectors (GCC vector extensions), always inlined so that the same code
// compiles to AVX2 + FMA inside a target("avx2,fma") caller and to SSE2 pairs in a baseline one: dot
// products, axpy, row combinations, LN₀ and register-blocked quadratic forms w G wᵀ. Shared by the pool
// scorer's kernels (pool_kernels.cc) and the training op of the grouped scores (grouped.cc).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

// Vectors wider than the baseline's pass through always-inlined helpers only: no call passes them by value.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace orma {
namespace dense {

typedef float f8 __attribute__((vector_size(32)));
typedef int32_t i8 __attribute__((vector_size(32)));

__attribute__((always_inline)) inline f8 load8(const float* p) {
  f8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
__attribute__((always_inline)) inline void store8(float* p, const f8& v) { std::memcpy(p, &v, sizeof v); }
__attribute__((always_inline)) inline f8 splat8(float x) { return f8{x, x, x, x, x, x, x, x}; }
__attribute__((always_inline)) inline float hsum8(const f8& x) {
  f8 v = x;
  v += __builtin_shuffle(v, i8{4, 5, 6, 7, 0, 1, 2, 3});
  v += __builtin_shuffle(v, i8{2, 3, 0, 1, 6, 7, 4, 5});
  v += __builtin_shuffle(v, i8{1, 0, 3, 2, 5, 4, 7, 6});
  return v[0];
}
__attribute__((always_inline)) inline float hmin8(const f8& x) {
  f8 v = x;
  f8 w = __builtin_shuffle(v, i8{4, 5, 6, 7, 0, 1, 2, 3});
  v = w < v ? w : v;
  w = __builtin_shuffle(v, i8{2, 3, 0, 1, 6, 7, 4, 5});
  v = w < v ? w : v;
  w = __builtin_shuffle(v, i8{1, 0, 3, 2, 5, 4, 7, 6});
  v = w < v ? w : v;
  return v[0];
}
__attribute__((always_inline)) inline int64_t round8(int64_t k) { return (k + 7) / 8 * 8; }

__attribute__((always_inline)) inline float dotT(const float* __restrict x, const float* __restrict y, int64_t n) {
  f8 a0 = splat8(0.f), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 += load8(x + i) * load8(y + i);
    a1 += load8(x + i + 8) * load8(y + i + 8);
    a2 += load8(x + i + 16) * load8(y + i + 16);
    a3 += load8(x + i + 24) * load8(y + i + 24);
  }
  for (; i + 8 <= n; i += 8) a0 += load8(x + i) * load8(y + i);
  float s = hsum8((a0 + a1) + (a2 + a3));
  for (; i < n; ++i) s += x[i] * y[i];
  return s;
}

// y += alpha · x
__attribute__((always_inline)) inline void axpyT(float* __restrict y, float alpha, const float* __restrict x, int64_t n) {
  const f8 a = splat8(alpha);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) store8(y + i, load8(y + i) + a * load8(x + i));
  for (; i < n; ++i) y[i] += alpha * x[i];
}

// y += Σ_c alpha[c] · X[c] over c < k (rows of stride ld), four rows per pass over y
__attribute__((always_inline)) inline void combineRowsT(float* __restrict y, const float* alpha, const float* X, int64_t ld, int64_t k, int64_t D) {
  int64_t c = 0;
  for (; c + 4 <= k; c += 4) {
    const f8 a0 = splat8(alpha[c]), a1 = splat8(alpha[c + 1]), a2 = splat8(alpha[c + 2]), a3 = splat8(alpha[c + 3]);
    const float *x0 = X + c * ld, *x1 = x0 + ld, *x2 = x1 + ld, *x3 = x2 + ld;
    int64_t d = 0;
    for (; d + 8 <= D; d += 8) store8(y + d, load8(y + d) + ((a0 * load8(x0 + d) + a1 * load8(x1 + d)) + (a2 * load8(x2 + d) + a3 * load8(x3 + d))));
    for (; d < D; ++d) y[d] += (alpha[c] * x0[d] + alpha[c + 1] * x1[d]) + (alpha[c + 2] * x2[d] + alpha[c + 3] * x3[d]);
  }
  for (; c < k; ++c) axpyT(y, alpha[c], X + c * ld, D);
}

// LN₀: LayerNorm over the D values without affine parameters (eps 1e-5), in place.
__attribute__((always_inline)) inline void ln0T(float* x, int64_t D) {
  f8 sum8 = splat8(0.f);
  int64_t d = 0;
  for (; d + 8 <= D; d += 8) sum8 += load8(x + d);
  float sum = hsum8(sum8);
  for (; d < D; ++d) sum += x[d];
  const float mean = sum / static_cast<float>(D);
  const f8 mu = splat8(mean);
  f8 acc = splat8(0.f);
  for (d = 0; d + 8 <= D; d += 8) {
    const f8 c = load8(x + d) - mu;
    acc += c * c;
  }
  float var = hsum8(acc);
  for (; d < D; ++d) var += (x[d] - mean) * (x[d] - mean);
  var /= static_cast<float>(D);
  const float rstd = 1.0f / std::sqrt(var + 1e-5f);
  const f8 r = splat8(rstd);
  for (d = 0; d + 8 <= D; d += 8) store8(x + d, (load8(x + d) - mu) * r);
  for (; d < D; ++d) x[d] = (x[d] - mean) * rstd;
}

// Partial quadratic forms sq[t] += (w_t G)[cols] · w_t[cols] over the 8R columns starting at `col`, for T rows
// w_t of W (stride ld, zero beyond k) and G [k × ld] (rows padded with zero columns): T·R accumulators in
// registers, each row of G loaded once for the T rows.
template <int R, int T, bool Narrow>
__attribute__((always_inline)) inline void quadFormsRT(const float* W, int64_t ldRuntime, int64_t k, const float* G, int64_t col, float* sq) {
  const int64_t ld = Narrow ? 8 * R : ldRuntime;  // a single chunk (k8 ≤ 64): the stride is known at compile time
  f8 acc[T][R];
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t)
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc[t][r] = splat8(0.f);
  for (int64_t c = 0; c < k; ++c) {
    f8 g[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) g[r] = load8(G + c * ld + col + 8 * r);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const f8 wc = splat8(W[t * ld + c]);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[t][r] += wc * g[r];
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) {
    f8 s = splat8(0.f);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) s += acc[t][r] * load8(W + t * ld + col + 8 * r);
    sq[t] += hsum8(s);
  }
}

// The columns col .. col + 8R of every row's quadratic form, T rows at a time.
template <int R>
__attribute__((always_inline)) inline void quadFormsR(const float* W, int64_t ld, int64_t nq, int64_t k, const float* G, int64_t col, float* sq) {
  constexpr int T = R == 1 ? 8 : R == 2 ? 4 : R <= 4 ? 2 : 1;
  int64_t t = 0;
  if (ld == 8 * R) {
    for (; t + T <= nq; t += T) quadFormsRT<R, T, true>(W + t * ld, ld, k, G, col, sq + t);
    for (; t < nq; ++t) quadFormsRT<R, 1, true>(W + t * ld, ld, k, G, col, sq + t);
  } else {
    for (; t + T <= nq; t += T) quadFormsRT<R, T, false>(W + t * ld, ld, k, G, col, sq + t);
    for (; t < nq; ++t) quadFormsRT<R, 1, false>(W + t * ld, ld, k, G, col, sq + t);
  }
}

// sq[t] = w_t G w_tᵀ for the nq rows of W [nq × k8] and G [k × k8], in column chunks of at most 64.
__attribute__((always_inline)) inline void quadFormsT(const float* W, int64_t nq, int64_t k, const float* G, float* sq) {
  const int64_t k8 = round8(k);
  std::fill(sq, sq + nq, 0.f);
  for (int64_t col = 0; col < k8; col += 64) {
    switch (std::min<int64_t>(64, k8 - col) / 8) {
      case 1: quadFormsR<1>(W, k8, nq, k, G, col, sq); break;
      case 2: quadFormsR<2>(W, k8, nq, k, G, col, sq); break;
      case 3: quadFormsR<3>(W, k8, nq, k, G, col, sq); break;
      case 4: quadFormsR<4>(W, k8, nq, k, G, col, sq); break;
      case 5: quadFormsR<5>(W, k8, nq, k, G, col, sq); break;
      case 6: quadFormsR<6>(W, k8, nq, k, G, col, sq); break;
      case 7: quadFormsR<7>(W, k8, nq, k, G, col, sq); break;
      default: quadFormsR<8>(W, k8, nq, k, G, col, sq); break;
    }
  }
}

// quadFormsT for rows of W with stride ld ≥ round8(k) (zero from k to round8(k)): copies them into a k8-strided block
// when ld differs, so that the blocked kernels keep their compile-time strides.
__attribute__((always_inline)) inline void quadFormsLdT(const float* W, int64_t ld, int64_t nq, int64_t k, const float* G, float* sq) {
  const int64_t k8 = round8(k);
  if (ld == k8) return quadFormsT(W, nq, k, G, sq);
  thread_local std::vector<float> packed;
  packed.resize(nq * k8);
  for (int64_t t = 0; t < nq; ++t) std::memcpy(packed.data() + t * k8, W + t * ld, k8 * sizeof(float));
  quadFormsT(packed.data(), nq, k, G, sq);
}

// G [k × k8]: the k × k gram g with zero columns up to k8.
__attribute__((always_inline)) inline void padGram(const float* g, int64_t k, float* G) {
  const int64_t k8 = round8(k);
  for (int64_t c = 0; c < k; ++c) {
    std::memcpy(G + c * k8, g + c * k, k * sizeof(float));
    std::fill(G + c * k8 + k, G + (c + 1) * k8, 0.f);
  }
}

}  // namespace dense
}  // namespace orma
