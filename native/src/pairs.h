// Shared pieces of the fine grains' training ops (local.cc, mid.cc): per-pair vector math in float (dense.h's
// helpers, AVX2 inside target("avx2,fma") callers) and double (plain loops, for gradcheck), LN₀ and the
// score with their backward, the ragged offsets, the keys' grams, and the text-chunked backward driver.
#pragma once
#include "engine.h"
#include "dense.h"
#include <ATen/Parallel.h>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace orma {
namespace pairs {

constexpr double kNormEps = 1e-12, kLnEps = 1e-5, kShift = 1e-6, kMinSum = 1e-30, kMinSq = 1e-24;

__attribute__((always_inline)) inline float dot(const float* x, const float* y, int64_t n) { return dense::dotT(x, y, n); }
__attribute__((always_inline)) inline double dot(const double* x, const double* y, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += x[i] * y[i];
  return s;
}
__attribute__((always_inline)) inline void axpy(float* y, float alpha, const float* x, int64_t n) { dense::axpyT(y, alpha, x, n); }
__attribute__((always_inline)) inline void axpy(double* y, double alpha, const double* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

// Σ x (float: 8 lanes; double: in order)
__attribute__((always_inline)) inline float sum(const float* x, int64_t n) {
  using namespace dense;
  f8 a = splat8(0.f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) a += load8(x + i);
  float s = hsum8(a);
  for (; i < n; ++i) s += x[i];
  return s;
}
__attribute__((always_inline)) inline double sum(const double* x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += x[i];
  return s;
}
// x ← LN₀(x) (biased variance, eps 1e-5); returns 1/σ for the backward. The sums in S (float: 8 lanes, as
// dense.h ln0T), every per-element step a multiplication.
template <class S> __attribute__((always_inline)) inline S layerNorm0(S* x, int64_t D) {
  const S mean = sum(x, D) / static_cast<S>(D);
  for (int64_t d = 0; d < D; ++d) x[d] -= mean;
  const S rstd = static_cast<S>(1.0 / std::sqrt(static_cast<double>(dot(x, x, D)) / static_cast<double>(D) + kLnEps));
  for (int64_t d = 0; d < D; ++d) x[d] *= rstd;
  return rstd;
}

// dy ← the gradient at LN₀'s input from the one at its output y: rstd (dy − mean(dy) − y mean(dy ⊙ y)).
template <class S> __attribute__((always_inline)) inline void layerNorm0Backward(const S* y, S rstd, S* dy, int64_t D) {
  const S mg = sum(dy, D) / static_cast<S>(D), mgy = dot(dy, y, D) / static_cast<S>(D);
  for (int64_t d = 0; d < D; ++d) dy[d] = rstd * (dy[d] - mg - y[d] * mgy);
}

// dx ← the gradient at x of x̂ = x / max(‖x‖, 1e-12) from the one at x̂ (xhat = x̂, norm = ‖x‖).
template <class S> __attribute__((always_inline)) inline void normalizeBackward(const S* xhat, double norm, S* dx, int64_t D) {
  const S along = norm > kNormEps ? dot(xhat, dx, D) : S(0), scale = static_cast<S>(1.0 / std::max(norm, kNormEps));
  for (int64_t d = 0; d < D; ++d) dx[d] = (dx[d] - xhat[d] * along) * scale;
}

template <class S> __attribute__((always_inline)) inline double norm2(const S* x, int64_t D) { return std::sqrt(static_cast<double>(dot(x, x, D))); }

// The pair score u · v, or cos(u, v) = (u / max(‖u‖, ε)) · (v / max(‖v‖, ε)) as scores.ts pairScore.
template <class S> __attribute__((always_inline)) inline S pairScore(const S* u, const S* v, int64_t D, bool cosine) {
  const double uv = dot(u, v, D);
  if (!cosine) return static_cast<S>(uv);
  return static_cast<S>(uv / std::max(norm2(u, D), kNormEps) / std::max(norm2(v, D), kNormEps));
}

// du, dv of pairScore for g = dL/dscore (hat: scratch of D).
template <class S> __attribute__((always_inline)) inline void pairScoreBackward(const S* u, const S* v, int64_t D, bool cosine, S g, S* du, S* dv, S* hat) {
  if (!cosine) {
    for (int64_t d = 0; d < D; ++d) { du[d] = g * v[d]; dv[d] = g * u[d]; }
    return;
  }
  const double nu = norm2(u, D), nv = norm2(v, D);
  const S iu = static_cast<S>(1.0 / std::max(nu, kNormEps)), iv = static_cast<S>(1.0 / std::max(nv, kNormEps));
  for (int64_t d = 0; d < D; ++d) { du[d] = g * iv * v[d]; dv[d] = g * iu * u[d]; }
  for (int64_t d = 0; d < D; ++d) hat[d] = u[d] * iu;
  normalizeBackward(hat, nu, du, D);
  for (int64_t d = 0; d < D; ++d) hat[d] = v[d] * iv;
  normalizeBackward(hat, nv, dv, D);
}

// The grouped score's row weights (grouped.cc): w = (row − min row + 1e-6) / Σ over the k keys of a row; returns
// Σ (before the division, for the backward) and sets the first key at the minimum. The float version finds the
// minimum 8 keys at a time (a scalar search carries a dependency through the running index: half the local
// grain's forward time, perf 2026-12-03) and sums in float.
__attribute__((always_inline)) inline double rowWeights(const float* row, int64_t k, float* w, int64_t& lowest) {
  using namespace dense;
  const int64_t full = k / 8 * 8;
  f8 lo8 = splat8(std::numeric_limits<float>::infinity());
  for (int64_t c = 0; c < full; c += 8) { const f8 x = load8(row + c); lo8 = x < lo8 ? x : lo8; }
  float lo = hmin8(lo8);
  for (int64_t c = full; c < k; ++c) lo = row[c] < lo ? row[c] : lo;
  lowest = 0;
  for (int64_t c = 0; c < k; ++c) if (row[c] == lo) { lowest = c; break; }
  const f8 lo_ = splat8(lo), delta = splat8(static_cast<float>(kShift));
  f8 z8 = splat8(0.f);
  for (int64_t c = 0; c < full; c += 8) { const f8 x = (load8(row + c) - lo_) + delta; store8(w + c, x); z8 += x; }
  float z = hsum8(z8);
  for (int64_t c = full; c < k; ++c) { w[c] = (row[c] - lo) + static_cast<float>(kShift); z += w[c]; }
  const f8 scale = splat8(1.f / std::max(z, static_cast<float>(kMinSum)));
  for (int64_t c = 0; c < full; c += 8) store8(w + c, load8(w + c) * scale);
  for (int64_t c = full; c < k; ++c) w[c] *= 1.f / std::max(z, static_cast<float>(kMinSum));
  return z;
}
__attribute__((always_inline)) inline double rowWeights(const double* row, int64_t k, double* w, int64_t& lowest) {
  lowest = 0;
  for (int64_t c = 1; c < k; ++c) if (row[c] < row[lowest]) lowest = c;
  double z = 0;
  for (int64_t c = 0; c < k; ++c) { w[c] = (row[c] - row[lowest]) + kShift; z += w[c]; }
  for (int64_t c = 0; c < k; ++c) w[c] /= std::max(z, kMinSum);
  return z;
}

// Ragged items: item i owns rows offsets[i] .. offsets[i+1] (int64 [count + 1], checked).
struct Ragged {
  const int64_t* at;
  int64_t count;
  int64_t size(int64_t i) const { return at[i + 1] - at[i]; }
  int64_t longest() const {
    int64_t n = 0;
    for (int64_t i = 0; i < count; ++i) n = std::max(n, size(i));
    return n;
  }
};
inline Ragged raggedOf(const at::Tensor& offsets, int64_t rows, const char* name) {
  TORCH_CHECK(offsets.dim() == 1 && offsets.size(0) >= 1 && offsets.scalar_type() == at::kLong, name, " must be int64 [items + 1]");
  const int64_t* p = offsets.data_ptr<int64_t>();
  const int64_t count = offsets.size(0) - 1;
  TORCH_CHECK(p[0] == 0 && p[count] <= rows, name, " must start at 0 and end within the ", rows, " rows");
  for (int64_t i = 0; i < count; ++i) TORCH_CHECK(p[i + 1] >= p[i], name, " must be non-decreasing");
  return {p, count};
}

// Each item's gram K Kᵀ of its rows of K [·, D], flat: item b's k × k gram at grams[at[b]], rows of stride
// ld(b): k, or with `padded` round8(k) with zero columns past k (dense.h's quadratic forms read them so).
template <class S> struct Grams {
  std::vector<int64_t> at;
  std::vector<S> data;
  Ragged items;
  bool padded;
  int64_t ld(int64_t b) const { return padded ? dense::round8(items.size(b)) : items.size(b); }
  Grams(const S* K, int64_t D, const Ragged& items_, bool padded_ = false) : at(items_.count + 1, 0), items(items_), padded(padded_) {
    for (int64_t b = 0; b < items.count; ++b) at[b + 1] = at[b] + items.size(b) * ld(b);
    data.assign(at[items.count], S(0));
    at::parallel_for(0, items.count, 1, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        const int64_t k = items.size(b), l8 = ld(b);
        const S* kb = K + items.at[b] * D;
        S* g = data.data() + at[b];
        for (int64_t c = 0; c < k; ++c)
          for (int64_t l = c; l < k; ++l) g[c * l8 + l] = g[l * l8 + c] = dot(kb + c * D, kb + l * D, D);
      }
    });
  }
  const S* of(int64_t b) const { return data.data() + at[b]; }
};

// y[0, len) += Σ_{c < count} alpha[c] · X[c · ld + (0, len)]
__attribute__((always_inline)) inline void combineRows(float* y, const float* alpha, const float* X, int64_t ld, int64_t count, int64_t len) {
  dense::combineRowsT(y, alpha, X, ld, count, len);
}
__attribute__((always_inline)) inline void combineRows(double* y, const double* alpha, const double* X, int64_t ld, int64_t count, int64_t len) {
  for (int64_t c = 0; c < count; ++c)
    for (int64_t l = 0; l < len; ++l) y[l] += alpha[c] * X[c * ld + l];
}

// Runs work(begin, end, part) over chunks of the texts [0, A), one chunk per thread: each owns the rows of
// its texts in the outputs and a zeroed buffer `part` of partSize for what every text adds into (the keys'
// gradients), summed into sum[partSize] in chunk order: deterministic for a given thread count.
template <class S, class Work> void textChunks(int64_t A, int64_t partSize, S* sum, Work work) {
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(A, at::get_num_threads()));
  std::vector<std::vector<S>> parts(chunks);
  at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      parts[c].assign(partSize, S(0));
      work(A * c / chunks, A * (c + 1) / chunks, parts[c].data());
    }
  });
  for (const auto& part : parts)
    for (int64_t e = 0; e < partSize; ++e) sum[e] += part[e];
}

inline bool hasAvx2Fma() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}

}  // namespace pairs
}  // namespace orma
