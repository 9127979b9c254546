#include "gpu/backend_choice.h"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "gpu/cuda_backend.h"
#include "gpu/doctor.h"

namespace tessera::gpu {

const BackendChoice& choose_backend() {
  static const BackendChoice choice = [] {
    const DoctorReport r = run_doctor(doctor_input_from_environment());
    BackendChoice c;
    c.cuda_available = r.backend == "cuda";
    c.backend = "cpu";
    c.reason = r.reason;
    if (c.cuda_available) {
      auto made = make_cuda_backend(0);
      if (made.ok()) {
        c.backend = "cuda";
        c.device = std::move(*made);
      } else {
        c.reason = made.error().message;
      }
    }
    if (c.backend == "cuda") {
      std::fprintf(stderr, "tessera: running on %s: %s\n", std::string(c.device->name()).c_str(),
                   c.reason.c_str());
    } else {
      std::fprintf(stderr, "tessera: running on the CPU: %s (tessera doctor explains)\n",
                   c.reason.c_str());
    }
    return c;
  }();
  return choice;
}

}  // namespace tessera::gpu
