// A caching CPU allocator for libtorch.
//
// Why: on our VMs, touching freshly mapped pages is ~60x slower than reusing memory
// (engine-notes.md). glibc returns big blocks to the OS on free (mmap threshold), so every
// large activation of every training step would be fresh pages. This allocator keeps freed
// large blocks in size-class free lists and hands them out again, which is what jemalloc with
// decay disabled achieved, but without LD_PRELOAD or any set-up by the user.
#include "engine.h"
#include <c10/core/CPUAllocator.h>
#include <cstdlib>
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
      auto it = free_.find(cls);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_ -= cls;
        noteAlloc(p, cls);
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
    free_[cls].push_back(p);
    cached_ += cls;
    if (cached_ > limit_) trimTo(limit_ / 2);
  }

  // Frees cached blocks, largest first, until at most `target` bytes stay cached.
  void trimTo(size_t target) {
    for (auto it = free_.rbegin(); it != free_.rend() && cached_ > target; ++it) {
      auto& list = it->second;
      while (!list.empty() && cached_ > target) {
        std::free(list.back());
        list.pop_back();
        cached_ -= it->first;
      }
    }
  }

  std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;
  std::unordered_map<void*, size_t> sizes_;
  size_t allocated_ = 0, cached_ = 0, peak_ = 0, hits_ = 0, misses_ = 0;
  size_t limit_ = size_t(4) << 30;  // 4 GiB of idle blocks at most; ORMA_ALLOCATOR_CACHE_BYTES overrides
};

}  // namespace

void installCachingAllocator() {
  const char* off = std::getenv("ORMA_CACHING_ALLOCATOR");
  if (off && std::string(off) == "0") return;
  c10::SetCPUAllocator(&CachingCpuAllocator::instance(), /*priority=*/1);
}
AllocatorStats allocatorStats() { return CachingCpuAllocator::instance().stats(); }
void emptyAllocatorCache() { CachingCpuAllocator::instance().emptyCache(); }
void setAllocatorCacheLimit(size_t bytes) { CachingCpuAllocator::instance().setLimit(bytes); }

}  // namespace orma
