// A caching CPU allocator for libtorch.
//
// Why: on our VMs, touching freshly mapped pages is far slower than reusing memory
// (docs/engine.md, "Allocator"). glibc returns big blocks to the OS on free (mmap threshold), so every
// large activation of every training step would be fresh pages. This allocator keeps freed
// large blocks in size-class free lists and hands them out again, which is what jemalloc with
// decay disabled achieved, but without LD_PRELOAD or any set-up by the user.
#include "engine.h"
#include <c10/core/CPUAllocator.h>
#include <cstdlib>
#include <malloc.h>
#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>

namespace orma {
namespace {

constexpr size_t kAlignment = 64;               // what libtorch's own CPU allocator guarantees
constexpr size_t kSmall = 64 * 1024;            // below this, glibc's heap already reuses memory well
void freeSmall(void* p) { std::free(p); }

// Rounds a large request up to a size class: 8 classes per power of two (at most 12.5% waste),
// so blocks of slightly different sizes (dynamic padding!) still share free lists.
size_t sizeClass(size_t n) {
  size_t p = 1;
  while ((p << 1) <= n) p <<= 1;
  size_t step = p / 8;
  return (n + step - 1) / step * step;
}

class CachingCpuAllocator final : public at::Allocator {
 public:
  at::DataPtr allocate(size_t n) const override {
    if (n < kSmall) {  // small blocks bypass the cache and its lock entirely
      void* p = nullptr;
      if (posix_memalign(&p, kAlignment, n == 0 ? 1 : n) != 0 || !p) throw std::bad_alloc();
      return {p, p, &freeSmall, at::Device(at::DeviceType::CPU)};
    }
    void* p = const_cast<CachingCpuAllocator*>(this)->take(n);
    return {p, p, &CachingCpuAllocator::release, at::Device(at::DeviceType::CPU)};
  }
  at::DeleterFnPtr raw_deleter() const override { return &CachingCpuAllocator::release; }

  static CachingCpuAllocator& instance() {
    static CachingCpuAllocator* a = new CachingCpuAllocator();  // never destroyed: tensors may outlive static teardown
    return *a;
  }

  AllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return {allocated_, cached_, peak_, hits_, misses_};
  }
  void emptyCache() {
    std::lock_guard<std::mutex> lock(mu_);
    trimTo(0);
  }
  void setLimit(size_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    limit_ = bytes;
    trimTo(limit_);
  }

 private:
  CachingCpuAllocator() {
    const char* env = std::getenv("ORMA_ALLOCATOR_CACHE_BYTES");
    if (env) limit_ = static_cast<size_t>(std::strtoull(env, nullptr, 10));
  }

  void* take(size_t n) {
    size_t cls = sizeClass(n);
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Best fit within 1.5x: dynamic padding gives every batch slightly different sizes, and
      // reusing a somewhat larger idle block is far cheaper than touching fresh pages.
      auto it = free_.lower_bound(cls);
      if (it != free_.end() && it->first <= cls + cls / 2) {
        const size_t size = it->first;
        void* p = it->second.back().ptr;
        it->second.pop_back();
        if (it->second.empty()) free_.erase(it);
        cached_ -= size;
        noteAlloc(p, size);
        ++hits_;
        return p;
      }
      ++misses_;
    }
    void* p = nullptr;
    if (posix_memalign(&p, kAlignment, cls) != 0 || !p) {
      // Out of memory: give the cache back and try once more before failing.
      emptyCache();
      if (posix_memalign(&p, kAlignment, cls) != 0 || !p) throw std::bad_alloc();
    }
    std::lock_guard<std::mutex> lock(mu_);
    noteAlloc(p, cls);
    return p;
  }

  void noteAlloc(void* p, size_t cls) {
    sizes_[p] = cls;
    allocated_ += cls;
    if (allocated_ > peak_) peak_ = allocated_;
  }

  static void release(void* p) {
    if (!p) return;
    instance().give(p);
  }

  void give(void* p) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sizes_.find(p);
    if (it == sizes_.end()) { std::free(p); return; }  // a small block freed through raw_deallocate
    size_t cls = it->second;
    sizes_.erase(it);
    allocated_ -= cls;
    free_[cls].push_back({p, ++clock_});
    cached_ += cls;
    const size_t limit = effectiveLimit();
    if (cached_ > limit) trimTo(limit);
  }

  // Idle memory is bounded by twice the peak in use (one step's worth of every size is what reuse needs),
  // at least 256 MiB, at most limit_.
  size_t effectiveLimit() const {
    return std::min(limit_, std::max(2 * peak_, size_t(256) << 20));
  }

  // Frees the blocks idle the longest until at most `target` bytes stay cached: blocks of the
  // sizes every step uses stay, those of a rare shape go. Each list is oldest-first.
  void trimTo(size_t target) {
    while (cached_ > target && !free_.empty()) {
      auto oldest = free_.begin();
      for (auto it = free_.begin(); it != free_.end(); ++it) {
        if (it->second.front().stamp < oldest->second.front().stamp) oldest = it;
      }
      auto& list = oldest->second;
      std::free(list.front().ptr);
      list.erase(list.begin());
      cached_ -= oldest->first;
      if (list.empty()) free_.erase(oldest);
    }
  }

  std::mutex mu_;
  struct Idle {
    void* ptr;
    uint64_t stamp;  // when it was freed, for least-recently-used trimming
  };
  std::map<size_t, std::vector<Idle>> free_;
  uint64_t clock_ = 0;
  std::unordered_map<void*, size_t> sizes_;
  size_t allocated_ = 0, cached_ = 0, peak_ = 0, hits_ = 0, misses_ = 0;
  size_t limit_ = size_t(8) << 30;  // cap on idle blocks; ORMA_ALLOCATOR_CACHE_BYTES overrides
};

}  // namespace

void installCachingAllocator() {
  const char* off = std::getenv("ORMA_CACHING_ALLOCATOR");
  if (off && std::string(off) == "0") return;
  c10::SetCPUAllocator(&CachingCpuAllocator::instance(), /*priority=*/1);
}
AllocatorStats allocatorStats() { return CachingCpuAllocator::instance().stats(); }
void emptyAllocatorCache() {
  CachingCpuAllocator::instance().emptyCache();
  // glibc keeps freed blocks below its (dynamic, up to 32 MB) mmap threshold in its heaps: hand their pages
  // back too, or the RSS stays at its high-water mark (encoding 3,300 ChEBI-20 pairs left 3.5 GB of RSS for
  // 0.67 GB of tensors, with nothing cached)
  malloc_trim(0);
}
void setAllocatorCacheLimit(size_t bytes) { CachingCpuAllocator::instance().setLimit(bytes); }

// releaseFreedBlocks(): from now on glibc serves every block of at least kSmall bytes with its own mapping,
// so a block freed past the cache's limit goes back to the system at once. glibc's dynamic threshold (it
// rises to the largest mapping freed, up to 32 MB) otherwise keeps such blocks in its heaps: encoding the
// 3,300 ChEBI-20 validation pairs took the RSS to 3.7 GB for 0.67 GB of tensors and 1 GB cached, 1.9 GB with this.
void registerAllocator(Napi::Env env, Napi::Object exports) {
  registerOp(env, exports, "releaseFreedBlocks", [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Boolean::New(info.Env(), mallopt(M_MMAP_THRESHOLD, static_cast<int>(kSmall)) == 1);
  });
}

}  // namespace orma
