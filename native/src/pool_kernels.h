// The pool scorer's kernels (pool_kernels.cc: plain C++, no libtorch), as pool.cc calls them, and the
// scratch buffer both files use.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace orma {
namespace pool {

// A growing 64-byte aligned buffer (one per thread and use).
template <class T> struct Buffer {
  T* p = nullptr;
  size_t cap = 0;
  T* get(size_t n) {
    if (n > cap) {
      std::free(p);
      cap = std::max(n, cap * 2);
      p = static_cast<T*>(std::aligned_alloc(64, (cap * sizeof(T) + 63) / 64 * 64));
      if (!p) throw std::bad_alloc();
    }
    return p;
  }
  ~Buffer() { std::free(p); }
};

int maxLanes();
int lanesFor(int problems);
void ipotLanes(int W, int64_t n, int64_t m, int64_t iterations, const float* A, const float* a, const float* b, float* plan, double* scratch);
void localPairs(int64_t begin, int64_t end, int64_t A, int64_t B, const float* S, int64_t C, const int64_t* rows, const int64_t* cols,
                const float* keys, int64_t D, const float* grams, const int64_t* gramAt, const float* u, bool cosine, float* out);
void midGroup(int W, const int64_t* pairs, int count, int64_t B, const int64_t* rows, const int64_t* cols, const float* ST, int64_t R,
              const float* X, const float* motifs, int64_t D, const float* grams, const int64_t* gramAt, float beta, int64_t iterations,
              bool argmin, float tolerance, bool cosine, float* out);
// The token → motif assignments of a lane group (as midGroup, without the scores): out[p · N + i] for each pair p
// and real token i.
void midAssignGroup(int W, const int64_t* pairs, int count, int64_t B, const int64_t* rows, const int64_t* cols, const float* ST, int64_t R,
                    float beta, int64_t iterations, bool argmin, float tolerance, int32_t* out, int64_t N);
}  // namespace pool
}  // namespace orma
