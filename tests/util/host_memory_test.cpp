// HostMemory: zeroed, aligned, and (commit) resident at once.
#include "util/host_memory.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <string>

namespace tessera {
namespace {

// Resident anonymous bytes of this process.
uint64_t resident_anon() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("RssAnon:", 0) == 0) return std::stoull(line.substr(8)) * 1024;
  }
  return 0;
}

TEST(HostMemory, LargeMemoryIsZeroAlignedAndResidentOnlyOnceCommitted) {
  constexpr size_t kBytes = size_t{64} << 20;
  const uint64_t before = resident_anon();
  HostMemory m = HostMemory::allocate(kBytes);
  ASSERT_NE(m.data(), nullptr);
  EXPECT_EQ(m.size(), kBytes);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(m.data()) % (size_t{2} << 20), 0u);
  EXPECT_LT(resident_anon(), before + kBytes / 2) << "a mapping is committed as it is written";
  ASSERT_TRUE(m.commit());
  EXPECT_GE(resident_anon(), before + kBytes) << "commit() makes every page resident";
  const auto* p = static_cast<const uint8_t*>(m.data());
  for (size_t at = 0; at < kBytes; at += 4096) ASSERT_EQ(p[at], 0) << at;
}

TEST(HostMemory, SmallMemoryComesFromTheHeapZeroed) {
  HostMemory m = HostMemory::allocate(1000);
  ASSERT_NE(m.data(), nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(m.data()) % 64, 0u);
  EXPECT_TRUE(m.commit());
  const auto* p = static_cast<const uint8_t*>(m.data());
  for (size_t i = 0; i < 1000; ++i) ASSERT_EQ(p[i], 0);
}

}  // namespace
}  // namespace tessera
