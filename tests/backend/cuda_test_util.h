// The CUDA backend in tests: every GPU test starts with TESSERA_CUDA_BACKEND_OR_SKIP, which
// gives it a new CUDA backend over device 0 (its own memory account) or skips the test, with the
// reason, where there is none (no plugin in this build, no driver, no GPU). On a machine that
// must have one (a GPU CI runner), TESSERA_REQUIRE_CUDA=1 turns the skip into a failure, so that
// a plugin that does not load cannot pass for a missing GPU.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "backend/backend.h"
#include "gpu/cuda_backend.h"

namespace tessera::test {

// Whether a missing CUDA backend is a failure rather than a reason to skip.
inline bool cuda_required() {
  const char* v = std::getenv("TESSERA_REQUIRE_CUDA");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

// A new CUDA backend over device 0, or why there is none. A test program built with the plugin
// (tests/CMakeLists.txt) loads that one unless TESSERA_CUDA_PLUGIN says otherwise (ctest sets
// it to the same file; "none" turns the backend off).
inline Result<std::shared_ptr<backend::Backend>> cuda_backend() {
#ifdef TESSERA_CUDA_PLUGIN_FILE
  setenv("TESSERA_CUDA_PLUGIN", TESSERA_CUDA_PLUGIN_FILE, /*overwrite=*/0);
#endif
  return gpu::make_cuda_backend(0);
}

}  // namespace tessera::test

// Declares `std::shared_ptr<backend::Backend> var` holding a new CUDA backend, or skips the
// test ("no CUDA GPU: <reason>"; a failure when TESSERA_REQUIRE_CUDA is set). For test bodies
// and fixtures' SetUp (it returns from the enclosing function).
#define TESSERA_CUDA_BACKEND_OR_SKIP(var)                                             \
  std::shared_ptr<::tessera::backend::Backend> var;                                   \
  do {                                                                                \
    auto tessera_cuda_result_ = ::tessera::test::cuda_backend();                      \
    if (!tessera_cuda_result_.ok()) {                                                 \
      if (::tessera::test::cuda_required()) {                                         \
        GTEST_FAIL() << "TESSERA_REQUIRE_CUDA is set, but there is no CUDA backend: " \
                     << tessera_cuda_result_.error().message;                         \
      }                                                                               \
      GTEST_SKIP() << "no CUDA GPU: " << tessera_cuda_result_.error().message;        \
    }                                                                                 \
    var = std::move(tessera_cuda_result_).value();                                    \
    ASSERT_NE(var, nullptr) << "make_cuda_backend succeeded without a backend";       \
    ASSERT_EQ(var->kind(), ::tessera::backend::DeviceKind::cuda) << var->name();      \
  } while (0)
