#include "gpu/mig_layout.h"

#include <algorithm>
#include <set>

namespace tessera::gpu {
namespace {

// Backtracking over the instances still to place (in `order`), each at an allowed start whose
// memory slices are free.
bool place_from(const MigGpu& gpu, const std::vector<int>& order, size_t next, uint32_t used,
                std::vector<MigPlacement>& out) {
  if (next == order.size()) return true;
  const MigProfile& p = gpu.profiles[order[next]];
  const uint32_t span = (1u << p.memory_slices) - 1;
  for (int s = 0; s + p.memory_slices <= kMigMemorySlices; ++s) {
    if ((p.starts & (1u << s)) == 0 || (used & (span << s)) != 0) continue;
    // Two instances of one profile are interchangeable: keep their starts increasing.
    if (next > 0 && order[next - 1] == order[next] && s < out.back().start) continue;
    out.push_back({order[next], s});
    if (place_from(gpu, order, next + 1, used | (span << s), out)) return true;
    out.pop_back();
  }
  return false;
}

// Every valid layout, built by adding instances in profile order (a multiset, each once).
void enumerate(const MigGpu& gpu, int first_profile, MigCounts& counts, std::set<MigCounts>& out) {
  for (int i = first_profile; i < static_cast<int>(gpu.profiles.size()); ++i) {
    ++counts[i];
    if (layout_fits(gpu, counts)) {
      out.insert(counts);
      enumerate(gpu, i, counts, out);
    }
    --counts[i];
  }
}

}  // namespace

int layout_compute_slices(const MigGpu& gpu, const MigCounts& counts) {
  int n = 0;
  for (size_t i = 0; i < gpu.profiles.size(); ++i) n += counts[i] * gpu.profiles[i].compute_slices;
  return n;
}

int layout_memory_slices(const MigGpu& gpu, const MigCounts& counts) {
  int n = 0;
  for (size_t i = 0; i < gpu.profiles.size(); ++i) n += counts[i] * gpu.profiles[i].memory_slices;
  return n;
}

std::optional<std::vector<MigPlacement>> place_layout(const MigGpu& gpu, const MigCounts& counts) {
  std::vector<int> order;
  for (size_t i = 0; i < kMaxMigProfiles; ++i) {
    if (counts[i] == 0) continue;
    if (i >= gpu.profiles.size() || counts[i] > gpu.profiles[i].max_count) return std::nullopt;
    order.insert(order.end(), counts[i], static_cast<int>(i));
  }
  if (layout_compute_slices(gpu, counts) > kMigComputeSlices ||
      layout_memory_slices(gpu, counts) > kMigMemorySlices) {
    return std::nullopt;
  }
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const MigProfile& pa = gpu.profiles[a];
    const MigProfile& pb = gpu.profiles[b];
    if (pa.memory_slices != pb.memory_slices) return pa.memory_slices > pb.memory_slices;
    if (pa.compute_slices != pb.compute_slices) return pa.compute_slices > pb.compute_slices;
    return a < b;
  });
  std::vector<MigPlacement> out;
  if (!place_from(gpu, order, 0, 0, out)) return std::nullopt;
  std::sort(out.begin(), out.end(),
            [](const MigPlacement& a, const MigPlacement& b) { return a.start < b.start; });
  return out;
}

std::vector<MigCounts> valid_layouts(const MigGpu& gpu, uint32_t allowed) {
  std::set<MigCounts> all;
  MigCounts counts{};
  enumerate(gpu, 0, counts, all);
  std::vector<MigCounts> out;
  for (const MigCounts& c : all) {
    bool ok = true;
    for (size_t i = 0; i < gpu.profiles.size(); ++i) {
      if (c[i] > 0 && (allowed & (1u << i)) == 0) ok = false;
    }
    if (ok) out.push_back(c);
  }
  std::sort(out.begin(), out.end(), [&](const MigCounts& a, const MigCounts& b) {
    const int ma = layout_memory_slices(gpu, a), mb = layout_memory_slices(gpu, b);
    if (ma != mb) return ma > mb;
    const int ca = layout_compute_slices(gpu, a), cb = layout_compute_slices(gpu, b);
    if (ca != cb) return ca > cb;
    return std::lexicographical_compare(b.rbegin(), b.rend(), a.rbegin(), a.rend());
  });
  return out;
}

int room_for(const MigGpu& gpu, const MigCounts& counts, int profile) {
  MigCounts c = counts;
  int more = 0;
  while (c[profile] < gpu.profiles[profile].max_count) {
    ++c[profile];
    if (!layout_fits(gpu, c)) break;
    ++more;
  }
  return more;
}

}  // namespace tessera::gpu
